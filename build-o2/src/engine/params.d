build-o2/src/engine/params.o: src/engine/params.c src/engine/params.h \
 src/engine/rng.h src/engine/tensor.h src/engine/err.h
src/engine/params.h:
src/engine/rng.h:
src/engine/tensor.h:
src/engine/err.h:
