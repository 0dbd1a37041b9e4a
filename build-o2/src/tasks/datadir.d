build-o2/src/tasks/datadir.o: src/tasks/datadir.c src/tasks/task.h \
 src/engine/err.h src/engine/rng.h
src/tasks/task.h:
src/engine/err.h:
src/engine/rng.h:
