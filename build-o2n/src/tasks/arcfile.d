build-o2n/src/tasks/arcfile.o: src/tasks/arcfile.c src/tasks/task.h \
 src/engine/err.h src/engine/rng.h /usr/include/cjson/cJSON.h
src/tasks/task.h:
src/engine/err.h:
src/engine/rng.h:
/usr/include/cjson/cJSON.h:
