build-o3/src/tasks/sumfirst.o: src/tasks/sumfirst.c src/tasks/internal.h \
 src/tasks/task.h src/engine/err.h src/engine/rng.h
src/tasks/internal.h:
src/tasks/task.h:
src/engine/err.h:
src/engine/rng.h:
