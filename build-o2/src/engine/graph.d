build-o2/src/engine/graph.o: src/engine/graph.c src/engine/tape.h \
 src/engine/tensor.h src/engine/err.h
src/engine/tape.h:
src/engine/tensor.h:
src/engine/err.h:
