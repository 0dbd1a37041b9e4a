# neurop build. `make run` and `make test` are the two commands; everything else is optional.
CC      ?= cc
OPT     ?= -O3 -march=native
CFLAGS  ?= $(OPT)
# override: `make CFLAGS=-O0` replaces the optimization flags, never the language and include flags.
# -fno-trapping-math: nothing here enables floating-point traps, and without it GCC keeps every loop
# with a masked select (ReLU backward: x > 0 ? dz : 0) scalar; -fno-math-errno: nothing reads errno
# after a math function, and without it a loop that calls sqrtf (AdamW) stays scalar. Neither
# changes a value (neither is -ffast-math, which reorders arithmetic).
override CFLAGS += -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Wno-unused-parameter \
           -fno-trapping-math -fno-math-errno -fopenmp -Isrc -I/usr/include/cjson
LDLIBS  += -lopenblas -lcjson -lm -fopenmp
BUILD   ?= build
# MPI=1: the same sources through mpicc with -DNEUROP_MPI, into build-mpi/ (src/train/dist.c is the
# only file that differs; docs/cluster.md). `make` alone never needs MPI; `make test` builds both.
ifeq ($(MPI),1)
override CC := mpicc
override CFLAGS += -DNEUROP_MPI
override BUILD := build-mpi
DEPS_GROUP := --mpi
endif

# The commit the program is built from, for a reproduction's report (src/repro/repro_report.c): the
# report names the code that made it, whatever folder it runs in. $(BUILD)/commit.h is rewritten only
# when the commit or the uncommitted state changes, so only that file recompiles then.
NEUROP_COMMIT := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
NEUROP_DIRTY  := $(shell git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo 1 || echo 0)
$(shell mkdir -p $(BUILD) && printf '\043define NEUROP_COMMIT "%s"\n\043define NEUROP_DIRTY %s\n' '$(NEUROP_COMMIT)' \
    '$(NEUROP_DIRTY)' > $(BUILD)/commit.h.tmp && { cmp -s $(BUILD)/commit.h.tmp $(BUILD)/commit.h || \
    mv $(BUILD)/commit.h.tmp $(BUILD)/commit.h; }; rm -f $(BUILD)/commit.h.tmp)
$(BUILD)/src/repro/repro_report.o $(BUILD)/pic/src/repro/repro_report.o: override CFLAGS += -I$(BUILD)

LIB_SRC  := $(sort $(wildcard src/engine/*.c src/io/*.c src/program/*.c src/tasks/*.c src/meta/*.c src/train/*.c \
                               src/analysis/*.c src/repro/*.c src/api/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
PIC_OBJ  := $(LIB_SRC:%.c=$(BUILD)/pic/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

.PHONY: all run test test-asan fuzz bench reproduce clean deps mpi format format-check
all: $(BUILD)/neurop $(BUILD)/neurop-tests $(BUILD)/libneurop.so

# scripts/deps.sh installs what is missing. It runs once per build folder (again when it changes):
# every object waits for its stamp, so `make -j` never compiles before the libraries are there.
$(BUILD)/deps.stamp: scripts/deps.sh
	@CC="$(CC)" scripts/deps.sh $(DEPS_GROUP)
	@mkdir -p $(dir $@) && touch $@

deps:
	@CC="$(CC)" scripts/deps.sh

$(BUILD)/%.o: %.c | $(BUILD)/deps.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libneurop.a: $(LIB_OBJ)
	ar rcs $@ $^

# The shared library for Python (ctypes) and other languages: the same sources built
# position-independent in their own folder; only the NEUROP_API functions (src/api/) are exported.
$(BUILD)/pic/%.o: %.c | $(BUILD)/deps.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

$(BUILD)/libneurop.so: $(PIC_OBJ)
	$(CC) $(CFLAGS) -shared -o $@ $^ $(LDLIBS)

# The program links OpenBLAS and libgomp statically (the same Debian builds, as archives): a shared
# OpenBLAS costs 3 ms of symbol binding and thread starts at every launch, and a static libgomp
# starts after cli/main.c has set its wait policy, so neurop need not restart itself (engine/cpu.h).
# `neurop solve` on one task is a whole process; these were most of its start.
NEUROP_LDLIBS ?= -Wl,-Bstatic -lopenblas -lgomp -Wl,-Bdynamic -Wl,--as-needed -lgfortran -lcjson -lm -lpthread -ldl
$(BUILD)/neurop: $(CLI_OBJ) $(BUILD)/libneurop.a
	$(CC) $(CFLAGS) -o $@ $^ $(NEUROP_LDLIBS)
	@$(if $(filter 1,$(MPI)),true,ln -sf $(BUILD)/neurop neurop 2>/dev/null || true)

# The test registry is every TEST(name) in tests/*.c, collected at build time.
$(BUILD)/tests/registry.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	@grep -h '^TEST(' $(TEST_SRC) | sed 's/^TEST(\([A-Za-z0-9_]*\)).*/T(\1)/' > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/main.o: $(BUILD)/tests/registry.h
$(BUILD)/tests/main.o: override CFLAGS += -I$(BUILD)/tests

$(BUILD)/neurop-tests: $(TEST_OBJ) $(BUILD)/libneurop.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# OpenMP's waits between parallel regions: a short spin, then sleep (src/engine/cpu.c says why).
export GOMP_SPINCOUNT ?= 20000

# The MPI build too (deps.sh --mpi installs Open MPI once): tests/test_mpi.c runs it under mpirun.
# After this folder's deps step, so that `make -j test` never runs two apt-gets at once.
mpi: $(BUILD)/deps.stamp
	@$(MAKE) --no-print-directory MPI=1 build-mpi/neurop

# The C tests, then the Python ones (tests/python/), with one summary line for both.
test: $(BUILD)/neurop-tests $(BUILD)/neurop $(BUILD)/libneurop.so $(BUILD)/neurop-bench-meta mpi
	@OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} BUILD=$(BUILD) tests/run_all.sh

# Same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: mpi
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDLIBS="-lopenblas -lcjson -lm -fopenmp -fsanitize=address,undefined" \
	  NEUROP_LDLIBS="-lopenblas -lcjson -lm -fopenmp -fsanitize=address,undefined" build-asan/neurop-tests build-asan/neurop
	@ASAN_OPTIONS=detect_leaks=0 OMP_NUM_THREADS=2 NEUROP_TEST_QUICK=1 build-asan/neurop-tests

# libFuzzer harnesses (tests/fuzz/) under ASan + UBSan, FUZZ_SECONDS each (default 60; CI: 2).
FUZZ_TARGETS := safetensors arcfile template intent config program checkpoint
FUZZ_FLAGS   := -Wno-pass-failed -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
fuzz:
	@scripts/deps.sh --fuzz
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang-14 OPT="$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link" build-fuzz/libneurop.a
	@for t in $(FUZZ_TARGETS); do \
	  clang-14 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(FUZZ_FLAGS) -fsanitize=fuzzer -Isrc -I/usr/include/cjson \
	    tests/fuzz/fuzz_$$t.c build-fuzz/libneurop.a -lopenblas -lcjson -lm -fopenmp -o build-fuzz/fuzz_$$t || exit 1; done
	@scripts/fuzz.sh

run: all
	$(BUILD)/neurop demo

bench: all
	@CC="$(CC)" scripts/deps.sh --bench
	@$(MAKE) --no-print-directory $(BUILD)/neurop-bench $(BUILD)/neurop-bench-meta $(BUILD)/neurop-bench-process
	scripts/bench.sh

$(BUILD)/neurop-bench: $(BUILD)/bench/bench.o $(BUILD)/libneurop.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# One training step per task and method (bench/bench_meta.c), for dev/bench_step_torch.py to compare against.
$(BUILD)/neurop-bench-meta: $(BUILD)/bench/bench_meta.o $(BUILD)/libneurop.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
# Whole processes, spawn to exit (bench/bench_process.c; scripts/bench.sh solve).
$(BUILD)/neurop-bench-process: $(BUILD)/bench/bench_process.o
	$(CC) $(CFLAGS) -o $@ $^
-include $(BUILD)/bench/bench.d $(BUILD)/bench/bench_meta.d $(BUILD)/bench/bench_process.d

# gnuplot only draws the plots: installed here, not for the build (reproduce skips the PNGs without it).
reproduce: all
	@CC="$(CC)" scripts/deps.sh --plots
	$(BUILD)/neurop reproduce

# One C style (.clang-format, clang-format 14): `make format` applies it, `make format-check` fails
# on any file that differs from it.
CLANG_FORMAT   ?= clang-format-14
FORMAT_FILES   := $(sort $(wildcard src/*/*.[ch] tests/*.[ch] tests/fuzz/*.c bench/*.c))
format:
	@scripts/deps.sh --format
	$(CLANG_FORMAT) -i $(FORMAT_FILES)
format-check:
	@scripts/deps.sh --format
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_FILES) && echo "format-check: $(words $(FORMAT_FILES)) files as .clang-format says"

clean:
	rm -rf build build-asan build-fuzz build-mpi neurop

-include $(LIB_OBJ:.o=.d) $(PIC_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
