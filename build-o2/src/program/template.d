build-o2/src/program/template.o: src/program/template.c \
 src/program/template.h src/engine/rng.h src/engine/tensor.h \
 src/engine/err.h
src/program/template.h:
src/engine/rng.h:
src/engine/tensor.h:
src/engine/err.h:
