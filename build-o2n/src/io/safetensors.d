build-o2n/src/io/safetensors.o: src/io/safetensors.c src/io/safetensors.h \
 src/engine/err.h src/io/fileio.h /usr/include/cjson/cJSON.h
src/io/safetensors.h:
src/engine/err.h:
src/io/fileio.h:
/usr/include/cjson/cJSON.h:
