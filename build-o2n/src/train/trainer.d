build-o2n/src/train/trainer.o: src/train/trainer.c src/engine/cpu.h \
 src/io/fileio.h src/engine/err.h src/io/safetensors.h src/train/dist.h \
 src/train/run_internal.h src/train/train.h src/engine/adamw.h \
 src/engine/params.h src/engine/rng.h src/engine/tensor.h \
 src/train/config.h src/meta/meta.h src/program/ngraph.h \
 src/program/template.h src/tasks/task.h
src/engine/cpu.h:
src/io/fileio.h:
src/engine/err.h:
src/io/safetensors.h:
src/train/dist.h:
src/train/run_internal.h:
src/train/train.h:
src/engine/adamw.h:
src/engine/params.h:
src/engine/rng.h:
src/engine/tensor.h:
src/train/config.h:
src/meta/meta.h:
src/program/ngraph.h:
src/program/template.h:
src/tasks/task.h:
