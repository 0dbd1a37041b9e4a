build-o3/src/analysis/realarc.o: src/analysis/realarc.c \
 src/analysis/realarc.h src/train/train.h src/engine/adamw.h \
 src/engine/params.h src/engine/rng.h src/engine/tensor.h \
 src/engine/err.h src/train/config.h src/meta/meta.h src/program/ngraph.h \
 src/program/template.h src/tasks/task.h
src/analysis/realarc.h:
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
