/* The repository's own rules, checked by scripts so that make test keeps them: the layers of src/
 * point one way (tests/layers.sh). Run from the repository root. */
#include "test.h"
#include <stdio.h>
#include <stdlib.h>

TEST(layers_point_one_way) {
    fflush(stdout);
    int rc = system("tests/layers.sh");
    CHECK(rc == 0, "tests/layers.sh failed (status %d; the includes that point back are above)", rc);
}
