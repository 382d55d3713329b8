// SPDX-License-Identifier: MIT
// Shared by the FFmpeg halves of the clip code (clip_decode.cpp, clip_encode.cpp; compiled only
// with NST_HAVE_FFMPEG): owners for FFmpeg's objects, error text, and logging kept quiet so that
// bad input produces only nst's one-line error.
#pragma once
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>
}

#include <cstdarg>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

namespace nst::av {

inline std::string error_string(int err) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    if (av_strerror(err, buf, sizeof buf) < 0) return "FFmpeg error " + std::to_string(err);
    return buf;
}

// Errors a decoder logs but does not return: some conceal damage instead (FFV1 replaces a slice
// whose CRC fails with the previous frame's and only logs it). A reader points `log_watch` at one
// of these, on its own thread, while it decodes; the first error logged by `ctx` is kept.
struct LogWatch {
    const void* ctx = nullptr;
    std::string first_error;
};
inline thread_local LogWatch* log_watch = nullptr;

inline void log_callback(void* avcl, int level, const char* fmt, va_list args) {
    LogWatch* w = log_watch;
    if (!w || level > AV_LOG_ERROR || avcl != w->ctx || !w->first_error.empty()) return;
    char buf[256];
    std::vsnprintf(buf, sizeof buf, fmt, args);
    std::string msg = buf;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    w->first_error = msg.empty() ? "error" : msg;
}

// FFmpeg logs warnings and errors to stderr by default; nst reports failures itself, so nothing
// is printed (the callback only records decoder errors for a LogWatch).
inline void quiet_logging() {
    static std::once_flag once;
    std::call_once(once, [] {
        av_log_set_level(AV_LOG_QUIET);
        av_log_set_callback(log_callback);
    });
}

// Points log_watch at `w` for a scope (restoring the previous one).
class WatchScope {
public:
    explicit WatchScope(LogWatch& w) : m_prev(log_watch) { log_watch = &w; }
    ~WatchScope() { log_watch = m_prev; }
    WatchScope(const WatchScope&) = delete;
    WatchScope& operator=(const WatchScope&) = delete;

private:
    LogWatch* m_prev;
};

struct CodecContextFree {
    void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
    void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
    void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsFree {
    void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextFree>;
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFree>;
using SwsPtr = std::unique_ptr<SwsContext, SwsFree>;

}  // namespace nst::av
