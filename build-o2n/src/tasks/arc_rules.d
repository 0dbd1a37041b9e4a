build-o2n/src/tasks/arc_rules.o: src/tasks/arc_rules.c src/tasks/task.h \
 src/engine/err.h src/engine/rng.h
src/tasks/task.h:
src/engine/err.h:
src/engine/rng.h:
