// CSndFile: libsndfile (Debian: libsndfile1-dev) for MMMediaIO/Audio/AudioFile.swift.
#include <sndfile.h>
