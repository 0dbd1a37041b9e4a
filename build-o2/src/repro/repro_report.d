build-o2/src/repro/repro_report.o: src/repro/repro_report.c \
 src/engine/cpu.h src/io/fileio.h src/engine/err.h \
 src/repro/repro_internal.h src/io/gnuplot.h src/repro/reproduce.h \
 src/train/config.h src/meta/meta.h src/engine/params.h src/engine/rng.h \
 src/engine/tensor.h src/program/ngraph.h src/program/template.h \
 src/tasks/task.h src/train/train.h src/engine/adamw.h \
 /usr/include/cjson/cJSON.h
src/engine/cpu.h:
src/io/fileio.h:
src/engine/err.h:
src/repro/repro_internal.h:
src/io/gnuplot.h:
src/repro/reproduce.h:
src/train/config.h:
src/meta/meta.h:
src/engine/params.h:
src/engine/rng.h:
src/engine/tensor.h:
src/program/ngraph.h:
src/program/template.h:
src/tasks/task.h:
src/train/train.h:
src/engine/adamw.h:
/usr/include/cjson/cJSON.h:
