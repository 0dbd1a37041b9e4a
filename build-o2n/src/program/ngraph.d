build-o2n/src/program/ngraph.o: src/program/ngraph.c src/program/ngraph.h \
 src/program/template.h src/engine/rng.h src/engine/tensor.h \
 src/engine/err.h src/program/spaces.h
src/program/ngraph.h:
src/program/template.h:
src/engine/rng.h:
src/engine/tensor.h:
src/engine/err.h:
src/program/spaces.h:
