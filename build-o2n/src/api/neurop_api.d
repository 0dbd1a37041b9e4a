build-o2n/src/api/neurop_api.o: src/api/neurop_api.c src/api/neurop_api.h \
 src/train/train.h src/engine/adamw.h src/engine/params.h \
 src/engine/rng.h src/engine/tensor.h src/engine/err.h src/train/config.h \
 src/meta/meta.h src/program/ngraph.h src/program/template.h \
 src/tasks/task.h
src/api/neurop_api.h:
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
