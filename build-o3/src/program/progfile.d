build-o3/src/program/progfile.o: src/program/progfile.c \
 src/program/progfile.h src/program/template.h src/engine/rng.h \
 src/engine/tensor.h src/engine/err.h src/io/safetensors.h
src/program/progfile.h:
src/program/template.h:
src/engine/rng.h:
src/engine/tensor.h:
src/engine/err.h:
src/io/safetensors.h:
