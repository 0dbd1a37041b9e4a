build-o3/src/tasks/arc1d.o: src/tasks/arc1d.c src/tasks/internal.h \
 src/tasks/task.h src/engine/err.h src/engine/rng.h
src/tasks/internal.h:
src/tasks/task.h:
src/engine/err.h:
src/engine/rng.h:
