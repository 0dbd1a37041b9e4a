/* Real 1D-ARC files: every file loads, the reference rules reproduce every pair of the covered
 * families, real pairs become padded examples, malformed files are refused with their path. */
#include "test.h"
#include "tasks/task.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Loads the real files that ship in data/1d-arc (data_dir) into set; 0 with why on failure. */
static int load_real(ArcSet *set, char *why, size_t len) {
    char dir[1024];
    Err e;
    *set = (ArcSet){0};
    if (data_dir("1d-arc", dir, sizeof dir, &e)) {
        snprintf(why, len, "%.230s", e.msg);
        return 0;
    }
    if (arc_load_dir(dir, set, &e)) {
        snprintf(why, len, "LOAD FAILED: %.200s", e.msg);
        return 0;
    }
    return 1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

TEST(tasks_arcfile_load_all) {
    ArcSet set;
    char why[240];
    int rc = load_real(&set, why, sizeof why);
    CHECK(rc == 1, "%s", why);
    if (rc != 1) return;
    CHECK(set.n == 3604, "%d pairs, want 3604", set.n);
    int n_test = 0, min_len = 1000, max_len = 0, n_files = 0, n_fam = 0;
    char **paths = malloc(sizeof *paths * (size_t)set.n), **fams = malloc(sizeof *fams * (size_t)set.n);
    for (int i = 0; i < set.n; i++) {
        const ArcPair *p = &set.pairs[i];
        n_test += p->is_test;
        if (p->len < min_len) min_len = p->len;
        if (p->len > max_len) max_len = p->len;
        paths[i] = p->path;
        fams[i] = (char *)p->family;
    }
    qsort(paths, (size_t)set.n, sizeof *paths, cmp_str);
    qsort(fams, (size_t)set.n, sizeof *fams, cmp_str);
    for (int i = 0; i < set.n; i++) {
        n_files += !i || strcmp(paths[i], paths[i - 1]);
        n_fam += !i || strcmp(fams[i], fams[i - 1]);
    }
    CHECK(n_files == 901 && n_fam == 18, "%d files, %d families; want 901, 18", n_files, n_fam);
    CHECK(n_test == 901, "%d test pairs", n_test);
    CHECK(min_len == 7 && max_len == 93, "lengths %d..%d, want 7..93", min_len, max_len);
    free(paths);
    free(fams);
    arc_set_free(&set);
}

TEST(tasks_arcfile_family_map) {
    const char *names[] = {"1d_move_1p", "1d_move_2p", "1d_move_3p", "1d_flip",
                           "1d_fill",    "1d_hollow",  "1d_mirror",  "1d_denoising_1c"};
    Intent want[] = {{ARC_MOVE, 1},  {ARC_MOVE, 2},    {ARC_MOVE, 3},    {ARC_FLIP, -1},
                     {ARC_FILL, -1}, {ARC_HOLLOW, -1}, {ARC_MIRROR, -1}, {ARC_DENOISE, -1}};
    for (int i = 0; i < 8; i++) {
        Intent u = {-9, -9};
        CHECK(arc_family_intent(names[i], &u) == 1 && u.family == want[i].family && u.param == want[i].param,
              "%s maps to (%d, %d)", names[i], u.family, u.param);
    }
    const char *unmapped[] = {"1d_move_dp",     "1d_move_2p_dp", "1d_padded_fill", "1d_denoising_mc",
                              "1d_recolor_cmp", "1d_scale_dp",   "1d_pcopy_1c",    "move"};
    for (int i = 0; i < 8; i++) {
        Intent u;
        CHECK(arc_family_intent(unmapped[i], &u) == 0, "%s should be unmapped", unmapped[i]);
    }
    Task t;
    Err e;
    task_get("arc", &t, &e);
    Intent u;
    arc_family_intent("1d_move_3p", &u);
    CHECK(task_is_ood(&t, u), "1d_move_3p is the OOD move");
}

/* Every pair of every covered family: the reference rule of the family's intent reproduces the
 * output, and the pair as a padded example is scored correct by perfect logits. Rows too long
 * for the template (1d_padded_fill) are refused, never truncated. */
TEST(tasks_arcfile_rules_reproduce_real) {
    ArcSet set;
    char why[240];
    int rc = load_real(&set, why, sizeof why);
    CHECK(rc == 1, "%s", why);
    if (rc != 1) return;
    Task t;
    Err e;
    task_get("arc", &t, &e);
    Examples ex;
    examples_alloc(&t, 1, &ex);
    float *logits = malloc(sizeof *logits * (size_t)t.out_len * t.n_classes);
    int covered = 0, refused = 0, per_family[ARC_N_FAMILIES] = {0};
    for (int i = 0; i < set.n; i++) {
        const ArcPair *p = &set.pairs[i];
        Intent u;
        if (p->len > t.seq_len) {
            Err pe = {{0}};
            char want[96];
            snprintf(want, sizeof want, "row of %d cells is longer than the template's %d", p->len, t.seq_len);
            CHECK(arc_pair_example(&t, p, &ex, 0, &pe) == -1 && strstr(pe.msg, want) && strstr(pe.msg, p->path),
                  "long row: '%s'", pe.msg);
            CHECK(!strcmp(p->family, "1d_padded_fill"), "%s: a long row outside padded_fill", p->path);
            refused++;
        }
        if (!arc_family_intent(p->family, &u)) continue;
        int out[ARC_MAX_LEN];
        CHECK(p->len <= ARC_MAX_LEN, "%s: covered row of %d cells", p->path, p->len);
        if (p->len > ARC_MAX_LEN) continue;
        arc_rule(u, p->in, p->len, out);
        CHECK(!memcmp(out, p->out, sizeof *out * (size_t)p->len), "%s %s[%d]: rule differs from the file", p->path,
              p->is_test ? "test" : "train", p->index);
        ex.n = 0;
        CHECK(arc_pair_example(&t, p, &ex, 0, &e) == 0 && ex.n == 1, "%s: not converted", p->path);
        memset(logits, 0, sizeof *logits * (size_t)t.out_len * t.n_classes);
        for (int j = 0; j < t.out_len; j++) {
            CHECK(j < p->len ? ex.tok[j] == p->in[j] && ex.lab[j] == p->out[j] : ex.tok[j] == 0 && ex.lab[j] == -1,
                  "%s: cell %d", p->path, j);
            if (j < p->len) logits[j * t.n_classes + p->out[j]] = 1;
        }
        CHECK(task_correct(&t, logits, &ex, 0), "%s: perfect logits not correct", p->path);
        covered++;
        per_family[u.family]++;
    }
    CHECK(covered == 1600, "%d covered pairs, want 8 families x 200", covered);
    CHECK(per_family[ARC_MOVE] == 600 && per_family[ARC_DENOISE] == 200 && per_family[ARC_RECOLOR] == 0,
          "per family: move %d denoise %d", per_family[ARC_MOVE], per_family[ARC_DENOISE]);
    CHECK(refused == 164, "%d long padded_fill pairs refused, want 164 (those with L = 36..93)", refused);
    free(logits);
    examples_free(&ex);
    arc_set_free(&set);
}

/* data_dir: NEUROP_DATA wins and is the only place looked at when set; without it the data is
 * found beside the executable from any working directory. */
TEST(tasks_data_dir_finds_the_shipped_data) {
    char *env0 = getenv("NEUROP_DATA") ? strdup(getenv("NEUROP_DATA")) : NULL;
    char cwd[1024], buf[1024], tmp[] = "/tmp/neurop-test-data-XXXXXX", sub[1100];
    NP_ASSERT(getcwd(cwd, sizeof cwd) && mkdtemp(tmp), "getcwd/mkdtemp");
    Err e = {{0}};
    unsetenv("NEUROP_DATA");
    NP_ASSERT(chdir(tmp) == 0, "chdir"); /* no data/ here: only the executable's location can find it */
    CHECK(data_dir("1d-arc", buf, sizeof buf, &e) == 0, "not found from %s: %s", tmp, e.msg);
    size_t n = strlen(buf);
    CHECK(buf[0] == '/' && n > 12 && !strcmp(buf + n - 12, "/data/1d-arc"), "found '%s'", buf);
    snprintf(sub, sizeof sub, "%s/LICENSE", buf);
    CHECK(!access(sub, R_OK), "%s: the licence is missing", sub);
    CHECK(data_dir("no-such-set", buf, sizeof buf, &e) == -1 && strstr(e.msg, "data/no-such-set") &&
              strstr(e.msg, "NEUROP_DATA"),
          "absent: '%s'", e.msg);
    NP_ASSERT(chdir(cwd) == 0, "chdir back");
    setenv("NEUROP_DATA", tmp, 1);
    Err e2 = {{0}};
    CHECK(data_dir("1d-arc", buf, sizeof buf, &e2) == -1 && strstr(e2.msg, tmp) && strstr(e2.msg, "NEUROP_DATA"),
          "an override without the folder must not fall back: '%s'", e2.msg);
    snprintf(sub, sizeof sub, "%s/1d-arc", tmp);
    NP_ASSERT(mkdir(sub, 0700) == 0, "mkdir");
    CHECK(data_dir("1d-arc", buf, sizeof buf, &e2) == 0 && !strcmp(buf, sub), "override gave '%s'", buf);
    rmdir(sub);
    rmdir(tmp);
    if (env0) setenv("NEUROP_DATA", env0, 1);
    else unsetenv("NEUROP_DATA");
    free(env0);
}

/* ---- malformed files ---- */

static void write_file(const char *dir, const char *name, const char *text, char *path, size_t len) {
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    NP_ASSERT(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

#define ROW3 "{\"input\": [[0, 1, 0]], \"output\": [[0, 0, 1]]}"

TEST(tasks_arcfile_malformed) {
    char dir[] = "/tmp/neurop-test-arc-XXXXXX";
    NP_ASSERT(mkdtemp(dir), "mkdtemp");
    struct {
        const char *name, *text, *want;
    } cases[] = {
        {"bad_json.json", "{\"train\": [" ROW3 ",", "not valid JSON"},
        {"no_train.json", "{\"test\": [" ROW3 "]}", "missing \"train\" list"},
        {"no_test.json", "{\"train\": [" ROW3 "]}", "missing \"test\" list"},
        {"train_num.json", "{\"train\": 5, \"test\": []}", "\"train\" is not a list"},
        {"top_array.json", "[1, 2]", "top level is not an object"},
        {"non_int.json", "{\"train\": [{\"input\": [[0, 2.5, 0]], \"output\": [[0, 0, 1]]}], \"test\": []}",
         "train[0].input[0][1]: cell is not an integer"},
        {"string_cell.json",
         "{\"train\": [" ROW3 "], \"test\": [{\"input\": [[0, 1, 0]], \"output\": [[0, \"3\", 1]]}]}",
         "test[0].output[0][1]: cell is not an integer"},
        {"cell12.json", "{\"train\": [{\"input\": [[0, 12, 0]], \"output\": [[0, 0, 1]]}], \"test\": []}",
         "train[0].input[0][1]: colour 12 is outside 0..9"},
        /* beyond int: the range is checked before any cast (a cast of 3e9 or 1e400 is undefined) */
        {"cell3e9.json", "{\"train\": [{\"input\": [[0, 3e9, 0]], \"output\": [[0, 0, 1]]}], \"test\": []}",
         "train[0].input[0][1]: colour 3000000000 is outside 0..9"},
        {"cell_neg.json", "{\"train\": [{\"input\": [[0, -5e18, 0]], \"output\": [[0, 0, 1]]}], \"test\": []}",
         "is outside 0..9"},
        {"cell_inf.json", "{\"train\": [{\"input\": [[0, 1e400, 0]], \"output\": [[0, 0, 1]]}], \"test\": []}",
         "train[0].input[0][1]: cell is not an integer"},
        {"ragged.json", "{\"train\": [" ROW3 ", {\"input\": [[0, 1, 0]], \"output\": [[0, 0, 1, 0]]}], \"test\": []}",
         "train[1]: input has 3 cells but output has 4"},
        {"two_rows.json", "{\"train\": [{\"input\": [[0, 1], [1, 0]], \"output\": [[0, 0]]}], \"test\": []}",
         "train[0].input: expected a grid of one row"},
        {"flat_row.json", "{\"train\": [{\"input\": [0, 1, 0], \"output\": [[0, 0, 1]]}], \"test\": []}",
         "train[0].input: expected a grid of one row"},
        {"empty_row.json", "{\"train\": [{\"input\": [[]], \"output\": [[]]}], \"test\": []}", "the row is empty"},
        {"no_output.json", "{\"train\": [" ROW3 "], \"test\": [{\"input\": [[0, 1, 0]]}]}",
         "test[0]: missing \"output\""},
    };
    int n_cases = (int)(sizeof cases / sizeof *cases);
    char good[1200], path[1200];
    write_file(dir, "1d_move_1p_12.json", "{\"train\": [" ROW3 ", " ROW3 "], \"test\": [" ROW3 "], \"uuid\": \"x\"}",
               good, sizeof good);
    ArcSet set = {0};
    Err e;
    CHECK(arc_load_file(good, &set, &e) == 0 && set.n == 3, "good file: %s", e.msg);
    CHECK(set.n == 3 && !strcmp(set.pairs[0].family, "1d_move_1p") && set.pairs[2].is_test && set.pairs[1].index == 1,
          "good file pairs");
    for (int i = 0; i < n_cases; i++) {
        write_file(dir, cases[i].name, cases[i].text, path, sizeof path);
        Err be = {{0}};
        CHECK(arc_load_file(path, &set, &be) == -1, "%s accepted", cases[i].name);
        CHECK(strstr(be.msg, path) && strstr(be.msg, cases[i].want), "%s: message '%s' lacks '%s'", cases[i].name,
              be.msg, cases[i].want);
        CHECK(set.n == 3, "%s: set has %d pairs after a refused file", cases[i].name, set.n);
    }
    Err ne = {{0}};
    snprintf(path, sizeof path, "%s/absent.json", dir);
    CHECK(arc_load_file(path, &set, &ne) == -1 && strstr(ne.msg, "cannot open") && strstr(ne.msg, path), "absent: %s",
          ne.msg);
    /* A directory walk stops at the first bad file (sorted order: bad_json.json) and names it. */
    Err de = {{0}};
    CHECK(arc_load_dir(dir, &set, &de) == -1 && strstr(de.msg, "bad_json.json") && strstr(de.msg, "not valid JSON"),
          "dir: %s", de.msg);

    /* A row longer than the template loads, and is refused when made an example. */
    char row[400] = "{\"train\": [{\"input\": [[";
    for (int j = 0; j < 40; j++) strcat(row, j ? ", 1" : "1");
    strcat(row, "]], \"output\": [[");
    for (int j = 0; j < 40; j++) strcat(row, j ? ", 2" : "2");
    strcat(row, "]]}], \"test\": []}");
    arc_set_free(&set);
    write_file(dir, "too_long.json", row, path, sizeof path);
    CHECK(arc_load_file(path, &set, &e) == 0 && set.n == 1 && set.pairs[0].len == 40, "long row not loaded: %s", e.msg);
    Task t;
    task_get("arc", &t, &e);
    Examples ex;
    examples_alloc(&t, 1, &ex);
    Err le = {{0}};
    CHECK(set.n == 1 && arc_pair_example(&t, &set.pairs[0], &ex, 0, &le) == -1, "long row accepted");
    CHECK(strstr(le.msg, path) && strstr(le.msg, "row of 40 cells is longer than the template's 33") &&
              strstr(le.msg, "refusing to truncate"),
          "long row message: '%s'", le.msg);
    CHECK(ex.n == 0, "refused row counted");
    examples_free(&ex);
    arc_set_free(&set);

    /* An empty directory has no tasks. */
    char empty[1300];
    snprintf(empty, sizeof empty, "%s/empty", dir);
    NP_ASSERT(mkdir(empty, 0700) == 0, "mkdir");
    Err ee = {{0}};
    CHECK(arc_load_dir(empty, &set, &ee) == -1 && strstr(ee.msg, "no ARC task files"), "empty dir: %s", ee.msg);
    rmdir(empty);

    for (int i = 0; i < n_cases; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].name);
        unlink(path);
    }
    unlink(good);
    snprintf(path, sizeof path, "%s/too_long.json", dir);
    unlink(path);
    rmdir(dir);
}
