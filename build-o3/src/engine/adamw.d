build-o3/src/engine/adamw.o: src/engine/adamw.c src/engine/adamw.h \
 src/engine/params.h src/engine/rng.h src/engine/tensor.h \
 src/engine/err.h
src/engine/adamw.h:
src/engine/params.h:
src/engine/rng.h:
src/engine/tensor.h:
src/engine/err.h:
