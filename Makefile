# neurop build. `make run` and `make test` are the two commands; everything else is optional.
CC      ?= cc
OPT     ?= -O2 -march=native
CFLAGS  ?= $(OPT)
CFLAGS  += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Wno-unused-parameter \
           -fopenmp -Isrc -I/usr/include/cjson
LDLIBS  += -lopenblas -lcjson -lm -fopenmp
BUILD   ?= build

LIB_SRC  := $(sort $(wildcard src/engine/*.c src/program/*.c src/tasks/*.c src/meta/*.c src/train/*.c src/api/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
PIC_OBJ  := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

.PHONY: all run test test-asan bench reproduce clean deps
all: deps $(BUILD)/neurop $(BUILD)/neurop-tests $(BUILD)/libneurop.so

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libneurop.a: $(LIB_OBJ)
	ar rcs $@ $^

# The shared library for Python (ctypes) and other languages: the same sources built
# position-independent in their own folder; only the NEUROP_API functions (src/api/) are exported.
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

$(BUILD)/libneurop.so: $(PIC_OBJ)
	$(CC) $(CFLAGS) -shared -o $@ $^ $(LDLIBS)

$(BUILD)/neurop: $(CLI_OBJ) $(BUILD)/libneurop.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
	@ln -sf $(BUILD)/neurop neurop 2>/dev/null || true

# The test registry is every TEST(name) in tests/*.c, collected at build time.
$(BUILD)/tests/registry.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	@grep -h '^TEST(' $(TEST_SRC) | sed 's/^TEST(\([A-Za-z0-9_]*\)).*/T(\1)/' > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/main.o: $(BUILD)/tests/registry.h
$(BUILD)/tests/main.o: CFLAGS += -I$(BUILD)/tests

$(BUILD)/neurop-tests: $(TEST_OBJ) $(BUILD)/libneurop.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Sleeping OpenMP waits: spinning threads on a loaded 2-core machine cost 10x (see src/cli/main.c).
export OMP_WAIT_POLICY ?= passive

# The C tests, then the Python ones (tests/python/), with one summary line for both.
test: deps $(BUILD)/neurop-tests $(BUILD)/neurop $(BUILD)/libneurop.so
	@OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} BUILD=$(BUILD) tests/run_all.sh

# Same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDLIBS="-lopenblas -lcjson -lm -fopenmp -fsanitize=address,undefined" build-asan/neurop-tests build-asan/neurop
	@ASAN_OPTIONS=detect_leaks=0 OMP_NUM_THREADS=2 NEUROP_TEST_QUICK=1 build-asan/neurop-tests

run: all
	$(BUILD)/neurop demo

bench: all
	@scripts/deps.sh --bench
	@$(MAKE) --no-print-directory $(BUILD)/neurop-bench $(BUILD)/neurop-bench-meta
	scripts/bench.sh

$(BUILD)/neurop-bench: $(BUILD)/bench/bench.o $(BUILD)/libneurop.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# One Meta-GNN training step per task (bench/bench_meta.c), for dev/bench_metagnn_torch.py to compare against.
$(BUILD)/neurop-bench-meta: $(BUILD)/bench/bench_meta.o $(BUILD)/libneurop.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
-include $(BUILD)/bench/bench.d $(BUILD)/bench/bench_meta.d

reproduce: all
	$(BUILD)/neurop reproduce

clean:
	rm -rf build build-asan neurop

-include $(LIB_OBJ:.o=.d) $(PIC_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
