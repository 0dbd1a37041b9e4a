build-o2/src/io/fileio.o: src/io/fileio.c src/io/fileio.h \
 src/engine/err.h /usr/include/cjson/cJSON.h
src/io/fileio.h:
src/engine/err.h:
/usr/include/cjson/cJSON.h:
