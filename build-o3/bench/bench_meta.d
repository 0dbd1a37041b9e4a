build-o3/bench/bench_meta.o: bench/bench_meta.c src/engine/adamw.h \
 src/engine/params.h src/engine/rng.h src/engine/tensor.h \
 src/engine/err.h src/engine/cpu.h src/engine/tape.h src/io/safetensors.h \
 src/meta/meta_internal.h src/meta/meta.h src/program/ngraph.h \
 src/program/template.h src/train/run_internal.h src/train/train.h \
 src/train/config.h src/tasks/task.h
src/engine/adamw.h:
src/engine/params.h:
src/engine/rng.h:
src/engine/tensor.h:
src/engine/err.h:
src/engine/cpu.h:
src/engine/tape.h:
src/io/safetensors.h:
src/meta/meta_internal.h:
src/meta/meta.h:
src/program/ngraph.h:
src/program/template.h:
src/train/run_internal.h:
src/train/train.h:
src/train/config.h:
src/tasks/task.h:
