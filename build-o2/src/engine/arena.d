build-o2/src/engine/arena.o: src/engine/arena.c src/engine/tensor.h \
 src/engine/err.h
src/engine/tensor.h:
src/engine/err.h:
