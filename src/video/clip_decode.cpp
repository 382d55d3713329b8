// SPDX-License-Identifier: MIT
// Reading video files through FFmpeg (libavformat demuxes, libavcodec decodes with the
// send/receive API, libswscale converts to RGB24), and the input error a build without FFmpeg
// gives instead.
//
// Frame count: probe_video_file decodes the whole stream (without colour conversion) and counts
// the pictures the decoder returns. The container's own count (nb_frames) is missing in some
// formats (Matroska, WebM) and packet counts can differ from pictures, so neither is trusted.
// A file cut short: an input error when the demuxer or decoder notices (an MP4 without its index,
// a damaged packet: decoders run with AV_EF_EXPLODE, and an error a decoder only logs while
// concealing it, like FFV1's slice CRC mismatch, counts too) or when fewer frames decode than the
// container's recorded duration implies; frames already passed to the sink stay passed.
// Frame rate: the stream's avg_frame_rate (frames / duration, what the muxer recorded for a
// constant-rate file), else r_frame_rate (the demuxer's guess from timestamps), else 0/1.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "io/image.h"
#include "video/clip.h"
#include "video/clip_internal.h"

#if defined(NST_HAVE_FFMPEG)
#include "video/av_util.h"
extern "C" {
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
}
#endif

namespace nst {

namespace {

std::string video_prefix(const std::string& path) { return "cannot read video '" + path + "': "; }

// The checks FFmpeg would report vaguely ("No such file or directory" for a folder named .mp4,
// a hang on a FIFO), done first for a precise message.
void check_input_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw_input(video_prefix(path) + std::strerror(errno));
    if (S_ISDIR(st.st_mode)) throw_input(video_prefix(path) + "is a folder, not a video file");
    if (!S_ISREG(st.st_mode)) throw_input(video_prefix(path) + "not a regular file");
    if (st.st_size == 0) throw_input(video_prefix(path) + "the file is empty");
}

}  // namespace

#if defined(NST_HAVE_FFMPEG)

namespace {

struct InputClose {
    void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};

// One video stream of a file, decoded picture by picture.
class VideoReader {
public:
    explicit VideoReader(const std::string& path) : m_path(path) {
        av::quiet_logging();
        check_input_file(path);
        AVFormatContext* fmt = nullptr;
        int r = avformat_open_input(&fmt, path.c_str(), nullptr, nullptr);
        if (r == AVERROR_EOF)
            fail("the file ends before its header and first frame could be read (empty or truncated)");
        if (r < 0) fail("not a video file FFmpeg can open (" + av::error_string(r) + ")");
        m_fmt.reset(fmt);
        r = avformat_find_stream_info(fmt, nullptr);
        if (r < 0) fail("cannot read the stream information (" + av::error_string(r) + ")");
        const AVCodec* codec = nullptr;
        m_stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
        if (m_stream == AVERROR_STREAM_NOT_FOUND) fail("the file has no video stream");
        if (m_stream == AVERROR_DECODER_NOT_FOUND || !codec) {
            const AVStream* any = nullptr;
            for (unsigned i = 0; i < fmt->nb_streams; ++i)
                if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) any = fmt->streams[i];
            fail(std::string("this FFmpeg has no decoder for the video codec ") +
                 (any ? avcodec_get_name(any->codecpar->codec_id) : "(unknown)"));
        }
        if (m_stream < 0) fail(av::error_string(m_stream));
        const AVStream* st = fmt->streams[m_stream];
        m_ctx.reset(avcodec_alloc_context3(codec));
        if (!m_ctx) fail("out of memory");
        r = avcodec_parameters_to_context(m_ctx.get(), st->codecpar);
        if (r < 0) fail(av::error_string(r));
        // Damaged data is an error, not something to conceal: a truncated or corrupt file must
        // not quietly become a clip with grey blocks in it.
        m_ctx->err_recognition |= AV_EF_EXPLODE | AV_EF_CRCCHECK;
        m_watch.ctx = m_ctx.get();
        r = avcodec_open2(m_ctx.get(), codec, nullptr);
        if (r < 0) fail("cannot open the " + std::string(codec->name) + " decoder (" + av::error_string(r) + ")");
        m_packet.reset(av_packet_alloc());
        m_frame.reset(av_frame_alloc());
        if (!m_packet || !m_frame) fail("out of memory");

        m_expected = expected_frames(fmt, st);
        AVRational rate = st->avg_frame_rate;
        if (rate.num <= 0 || rate.den <= 0) rate = st->r_frame_rate;
        if (rate.num > 0 && rate.den > 0) {
            av_reduce(&m_info.fps_num, &m_info.fps_den, rate.num, rate.den, INT32_MAX);
        }
    }

    // The next decoded picture, or nullptr at the end of the stream. Valid until the next call.
    const AVFrame* next() {
        av::WatchScope watch(m_watch);
        for (;;) {
            const int r = avcodec_receive_frame(m_ctx.get(), m_frame.get());
            if (!m_watch.first_error.empty()) fail_at_frame(m_watch.first_error);
            if (r == 0) {
                if (m_frame->decode_error_flags || (m_frame->flags & AV_FRAME_FLAG_CORRUPT))
                    fail_at_frame("the decoder marked it damaged");
                check_size(m_frame->width, m_frame->height);
                ++m_decoded;
                return m_frame.get();
            }
            if (r == AVERROR_EOF) {
                if (m_expected > 0 && m_decoded + 0.5 < m_expected)
                    fail("truncated: the file ends after " + std::to_string(m_decoded) + " frames of about " +
                         std::to_string(int(m_expected + 0.5)) + " (its recorded duration)");
                return nullptr;
            }
            if (r != AVERROR(EAGAIN)) fail_at_frame(r);
            feed();
        }
    }

    ClipInfo& info() { return m_info; }
    int decoded() const { return m_decoded; }
    [[noreturn]] void fail(const std::string& why) const { throw_input(video_prefix(m_path) + why); }

private:
    // Sends the decoder the next packet of our stream, or the end-of-stream signal.
    void feed() {
        for (;;) {
            if (m_flushed) fail("the decoder stopped before the end of the stream");
            const int r = av_read_frame(m_fmt.get(), m_packet.get());
            if (r == AVERROR_EOF) {
                const int s = avcodec_send_packet(m_ctx.get(), nullptr);
                if (s < 0) fail_at_frame(s);
                m_flushed = true;
                return;
            }
            if (r < 0) fail_at_frame(r);
            const bool ours = m_packet->stream_index == m_stream;
            const int s = ours ? avcodec_send_packet(m_ctx.get(), m_packet.get()) : 0;
            av_packet_unref(m_packet.get());
            if (s < 0) fail_at_frame(s);
            if (ours) return;
        }
    }

    // How many frames the container's recorded duration implies (duration x frame rate), or -1
    // when it records none that can be trusted: a Matroska/WebM file cut short demuxes cleanly
    // to its last complete packet, and this is what tells it from a complete one. The stream's
    // own duration first; the file's only when the video is its one stream (audio may be longer);
    // neither when they were estimated from the bit rate.
    static double expected_frames(const AVFormatContext* fmt, const AVStream* st) {
        const AVRational rate = st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0 ? st->avg_frame_rate
                                                                                        : st->r_frame_rate;
        if (rate.num <= 0 || rate.den <= 0) return -1;
        // Durations guessed from the file size and bit rate (MPEG-TS, raw streams) prove nothing.
        if (fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE) return -1;
        double seconds = -1;
        if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
            seconds = double(st->duration) * av_q2d(st->time_base);
        else if (fmt->nb_streams == 1 && fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
            seconds = double(fmt->duration) / AV_TIME_BASE;
        return seconds > 0 ? seconds * av_q2d(rate) : -1;
    }

    [[noreturn]] void fail_at_frame(int err) const { fail_at_frame(av::error_string(err)); }
    [[noreturn]] void fail_at_frame(const std::string& why) const {
        fail("corrupt or truncated at frame " + std::to_string(m_decoded) + " (" + why + ")");
    }

    void check_size(int w, int h) {
        if (w <= 0 || h <= 0) fail("frame " + std::to_string(m_decoded) + " has no size");
        if ((long long)w * h > kMaxImagePixels)
            fail(std::to_string(w) + "x" + std::to_string(h) + " frames exceed the size limit");
        if (m_decoded == 0) {
            m_info.width = w;
            m_info.height = h;
        }
        else if (w != m_info.width || h != m_info.height) {
            fail("frame " + std::to_string(m_decoded) + " is " + std::to_string(w) + "x" + std::to_string(h) +
                 ", but the first frame is " + std::to_string(m_info.width) + "x" + std::to_string(m_info.height));
        }
    }

    std::string m_path;
    std::unique_ptr<AVFormatContext, InputClose> m_fmt;
    av::CodecContextPtr m_ctx;
    av::PacketPtr m_packet;
    av::FramePtr m_frame;
    av::LogWatch m_watch;  // errors the decoder only logs (concealed damage)
    int m_stream = -1;
    bool m_flushed = false;
    int m_decoded = 0;
    double m_expected = -1;  // frames implied by the recorded duration, -1 if unknown
    ClipInfo m_info;
};

// Decoded pictures (any pixel format) to RGB float [0, 1], (1, 3, H, W).
class RgbConverter {
public:
    Tensor<float> convert(const AVFrame* f, const VideoReader& reader) {
        const auto fmt = AVPixelFormat(f->format);
        m_sws.reset(sws_getCachedContext(m_sws.release(), f->width, f->height, fmt, f->width, f->height,
                                         AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT,
                                         nullptr, nullptr, nullptr));
        if (!m_sws) reader.fail(std::string("cannot convert pixel format ") + av_get_pix_fmt_name(fmt) + " to RGB");
        const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(fmt);
        if (desc && !(desc->flags & AV_PIX_FMT_FLAG_RGB)) {
            // YUV: the matrix the stream is tagged with (untagged: swscale's default, BT.601) and
            // its range (limited unless tagged full or a yuvj format).
            const int cs = f->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : int(f->colorspace);
            const int full = f->color_range == AVCOL_RANGE_JPEG || std::strncmp(desc->name, "yuvj", 4) == 0;
            const int* coeffs = sws_getCoefficients(cs);
            if (sws_setColorspaceDetails(m_sws.get(), coeffs, full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                                         1 << 16, 1 << 16) < 0)
                reader.fail("cannot set up the YUV to RGB conversion");
        }
        const int stride = 3 * f->width;
        m_rgb.resize(std::size_t(stride) * f->height);
        uint8_t* dst[4] = {m_rgb.data(), nullptr, nullptr, nullptr};
        const int dst_stride[4] = {stride, 0, 0, 0};
        const int r = sws_scale(m_sws.get(), f->data, f->linesize, 0, f->height, dst, dst_stride);
        if (r != f->height) reader.fail("colour conversion failed");

        Tensor<float> out(Shape{1, 3, f->height, f->width});
        const std::size_t plane = std::size_t(f->width) * f->height;
        float* ch[3] = {out.data(), out.data() + plane, out.data() + 2 * plane};
        for (std::size_t i = 0; i < plane; ++i)
            for (int c = 0; c < 3; ++c) ch[c][i] = float(m_rgb[3 * i + c]) / 255.0f;
        return out;
    }

private:
    av::SwsPtr m_sws;
    std::vector<uint8_t> m_rgb;
};

}  // namespace

ClipInfo probe_video_file(const std::string& path) {
    VideoReader reader(path);
    while (reader.next()) {
    }
    if (reader.decoded() == 0) reader.fail("the video stream has no frames");
    reader.info().frames = reader.decoded();
    return reader.info();
}

ClipInfo decode_video(const std::string& path, const std::function<void(int, Tensor<float>&&)>& sink) {
    VideoReader reader(path);
    RgbConverter rgb;
    while (const AVFrame* f = reader.next()) sink(reader.decoded() - 1, rgb.convert(f, reader));
    if (reader.decoded() == 0) reader.fail("the video stream has no frames");
    reader.info().frames = reader.decoded();
    return reader.info();
}

bool have_video_codecs() { return true; }

#else  // no FFmpeg in this build

namespace {

[[noreturn]] void no_ffmpeg(const std::string& path) {
    check_input_file(path);
    throw_input(video_prefix(path) +
                "this nst was built without FFmpeg (Debian: apt-get install libavformat-dev libavcodec-dev "
                "libswscale-dev libavutil-dev, then rebuild); a folder of frame images works without it");
}

}  // namespace

ClipInfo probe_video_file(const std::string& path) { no_ffmpeg(path); }

ClipInfo decode_video(const std::string& path, const std::function<void(int, Tensor<float>&&)>&) { no_ffmpeg(path); }

bool have_video_codecs() { return false; }

#endif

}  // namespace nst
