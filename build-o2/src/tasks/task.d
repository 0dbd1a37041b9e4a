build-o2/src/tasks/task.o: src/tasks/task.c src/tasks/internal.h \
 src/tasks/task.h src/engine/err.h src/engine/rng.h
src/tasks/internal.h:
src/tasks/task.h:
src/engine/err.h:
src/engine/rng.h:
