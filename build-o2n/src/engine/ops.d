build-o2n/src/engine/ops.o: src/engine/ops.c src/engine/tape.h \
 src/engine/tensor.h src/engine/err.h
src/engine/tape.h:
src/engine/tensor.h:
src/engine/err.h:
