build-o2/src/train/run.o: src/train/run.c src/train/run_internal.h \
 src/train/train.h src/engine/adamw.h src/engine/params.h \
 src/engine/rng.h src/engine/tensor.h src/engine/err.h src/train/config.h \
 src/meta/meta.h src/program/ngraph.h src/program/template.h \
 src/tasks/task.h
src/train/run_internal.h:
src/train/train.h:
src/engine/adamw.h:
src/engine/params.h:
src/engine/rng.h:
src/engine/tensor.h:
src/engine/err.h:
src/train/config.h:
src/meta/meta.h:
src/program/ngraph.h:
src/program/template.h:
src/tasks/task.h:
