build-o2/src/train/config.o: src/train/config.c src/train/config.h \
 src/meta/meta.h src/engine/params.h src/engine/rng.h src/engine/tensor.h \
 src/engine/err.h src/program/ngraph.h src/program/template.h \
 src/tasks/task.h
src/train/config.h:
src/meta/meta.h:
src/engine/params.h:
src/engine/rng.h:
src/engine/tensor.h:
src/engine/err.h:
src/program/ngraph.h:
src/program/template.h:
src/tasks/task.h:
