build-o2n/src/repro/reproduce.o: src/repro/reproduce.c \
 src/analysis/realarc.h src/train/train.h src/engine/adamw.h \
 src/engine/params.h src/engine/rng.h src/engine/tensor.h \
 src/engine/err.h src/train/config.h src/meta/meta.h src/program/ngraph.h \
 src/program/template.h src/tasks/task.h src/io/fileio.h src/io/gnuplot.h \
 src/repro/repro_internal.h src/repro/reproduce.h \
 /usr/include/cjson/cJSON.h src/train/dist.h
src/analysis/realarc.h:
src/train/train.h:
src/engine/adamw.h:
src/engine/params.h:
src/engine/rng.h:
src/engine/tensor.h:
src/engine/err.h:
src/train/config.h:
src/meta/meta.h:
src/program/ngraph.h:
src/program/template.h:
src/tasks/task.h:
src/io/fileio.h:
src/io/gnuplot.h:
src/repro/repro_internal.h:
src/repro/reproduce.h:
/usr/include/cjson/cJSON.h:
src/train/dist.h:
