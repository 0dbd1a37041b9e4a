build-o3/src/meta/metamlp.o: src/meta/metamlp.c src/meta/meta_internal.h \
 src/meta/meta.h src/engine/params.h src/engine/rng.h src/engine/tensor.h \
 src/engine/err.h src/program/ngraph.h src/program/template.h
src/meta/meta_internal.h:
src/meta/meta.h:
src/engine/params.h:
src/engine/rng.h:
src/engine/tensor.h:
src/engine/err.h:
src/program/ngraph.h:
src/program/template.h:
