build-o3/src/program/exec.o: src/program/exec.c src/program/template.h \
 src/engine/rng.h src/engine/tensor.h src/engine/err.h
src/program/template.h:
src/engine/rng.h:
src/engine/tensor.h:
src/engine/err.h:
