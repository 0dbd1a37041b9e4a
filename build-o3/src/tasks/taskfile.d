build-o3/src/tasks/taskfile.o: src/tasks/taskfile.c \
 src/program/template.h src/engine/rng.h src/engine/tensor.h \
 src/engine/err.h src/tasks/internal.h src/tasks/task.h \
 /usr/include/cjson/cJSON.h
src/program/template.h:
src/engine/rng.h:
src/engine/tensor.h:
src/engine/err.h:
src/tasks/internal.h:
src/tasks/task.h:
/usr/include/cjson/cJSON.h:
