build-o2/src/tasks/addmod.o: src/tasks/addmod.c src/tasks/internal.h \
 src/tasks/task.h src/engine/err.h src/engine/rng.h
src/tasks/internal.h:
src/tasks/task.h:
src/engine/err.h:
src/engine/rng.h:
