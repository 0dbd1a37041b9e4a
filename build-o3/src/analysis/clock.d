build-o3/src/analysis/clock.o: src/analysis/clock.c src/analysis/clock.h \
 src/train/train.h src/engine/adamw.h src/engine/params.h \
 src/engine/rng.h src/engine/tensor.h src/engine/err.h src/train/config.h \
 src/meta/meta.h src/program/ngraph.h src/program/template.h \
 src/tasks/task.h /usr/include/cjson/cJSON.h src/io/fileio.h \
 src/io/gnuplot.h
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
src/io/fileio.h:
src/io/gnuplot.h:
