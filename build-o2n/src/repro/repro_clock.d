build-o2n/src/repro/repro_clock.o: src/repro/repro_clock.c \
 src/analysis/clock.h src/train/train.h src/engine/adamw.h \
 src/engine/params.h src/engine/rng.h src/engine/tensor.h \
 src/engine/err.h src/train/config.h src/meta/meta.h src/program/ngraph.h \
 src/program/template.h src/tasks/task.h /usr/include/cjson/cJSON.h \
 src/repro/repro_internal.h src/io/gnuplot.h src/repro/reproduce.h
src/analysis/clock.h:
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
/usr/include/cjson/cJSON.h:
src/repro/repro_internal.h:
src/io/gnuplot.h:
src/repro/reproduce.h:
