// SPDX-License-Identifier: MIT
// Writing video files through FFmpeg: RGB float frames are quantised to 8 bits (like PNG
// output), converted by libswscale to the codec's pixel format, encoded with libavcodec's
// send/receive API and muxed by libavformat into a temporary file beside the target, which
// finish() renames over it (io/atomic_file.h).
//
// Codecs by extension:
//   .mp4 .mov .m4v  H.264 (libx264), yuv420p, CRF `crf`, preset medium. 4:2:0 needs even sizes:
//                   an odd width or height is cropped by one column/row (the last one).
//   .webm           VP9 (libvpx-vp9), yuv420p, constant quality `crf` (0-63), odd sizes kept.
//   .mkv .avi       FFV1 (lossless) in packed RGB (bgr0; FFV1 has no 8-bit planar gbrp):
//                   decoding gives back the quantised frames exactly.
// YUV is BT.709 with limited range, and the stream is tagged so; decoders that honour the tags
// (FFmpeg, browsers, players) convert back with the same matrix.
// Time base 1/fps as a fraction (fps_den/fps_num), one tick per frame, so 30000/1001 is exact.
#include "core/error.h"
#include "io/atomic_file.h"
#include "io/image_encode.h"
#include "io/path.h"
#include "video/clip.h"

#if defined(NST_HAVE_FFMPEG)
#include "video/av_util.h"
extern "C" {
#include <libavutil/opt.h>
}
#endif

namespace nst {

namespace {

std::string write_prefix(const std::string& path) { return "cannot write video '" + path + "': "; }

struct CodecChoice {
    const char* format;   // libavformat muxer
    const char* encoder;  // libavcodec encoder
    bool even_size;       // 4:2:0 through x264: odd sizes are cropped
};

CodecChoice codec_for(const std::string& path) {
    const std::string ext = lower_extension(path);
    if (ext == ".mp4" || ext == ".m4v") return {"mp4", "libx264", true};
    if (ext == ".mov") return {"mov", "libx264", true};
    if (ext == ".webm") return {"webm", "libvpx-vp9", false};
    if (ext == ".mkv") return {"matroska", "ffv1", false};
    if (ext == ".avi") return {"avi", "ffv1", false};
    throw_usage(write_prefix(path) + "unsupported extension '" + ext +
                "' (video files: .mp4 .mov .m4v (H.264), .webm (VP9), .mkv .avi (lossless FFV1))");
}

void check_arguments(const std::string& path, int width, int height, int fps_num, int fps_den, int crf) {
    if (width < 1 || height < 1)
        throw_usage(write_prefix(path) + "frame size " + std::to_string(width) + "x" + std::to_string(height) +
                    " is not positive");
    if (fps_num < 1 || fps_den < 1)
        throw_usage(write_prefix(path) + "frame rate " + std::to_string(fps_num) + "/" + std::to_string(fps_den) +
                    " is not positive");
    if (crf < 0 || crf > 51)
        throw_usage(write_prefix(path) + "quality (CRF) " + std::to_string(crf) + " is not in 0..51");
}

}  // namespace

#if defined(NST_HAVE_FFMPEG)

namespace {

// An output context and its open file; used for unfinished encoders (finish() closes its own).
struct OutputClose {
    void operator()(AVFormatContext* f) const {
        if (f->pb) avio_closep(&f->pb);
        avformat_free_context(f);
    }
};

class FfmpegEncoder final : public VideoEncoder {
public:
    FfmpegEncoder(const std::string& path, int width, int height, int fps_num, int fps_den, int crf)
        : m_file(path), m_width(width), m_height(height) {
        av::quiet_logging();
        const CodecChoice choice = codec_for(path);
        m_enc_w = choice.even_size ? width & ~1 : width;
        m_enc_h = choice.even_size ? height & ~1 : height;
        if (m_enc_w < 2 || m_enc_h < 2)
            throw_usage(write_prefix(path) + std::to_string(width) + "x" + std::to_string(height) +
                        " is too small for " + choice.encoder + " (at least 2x2)");

        const AVCodec* codec = avcodec_find_encoder_by_name(choice.encoder);
        if (!codec) fail(std::string("this FFmpeg has no ") + choice.encoder + " encoder");
        const bool rgb = std::string(choice.encoder) == "ffv1";
        const AVPixelFormat pix = rgb ? AV_PIX_FMT_BGR0 : AV_PIX_FMT_YUV420P;

        AVFormatContext* fmt = nullptr;
        check(avformat_alloc_output_context2(&fmt, nullptr, choice.format, m_file.temp_path().c_str()),
              "cannot set up the container");
        m_fmt.reset(fmt);
        m_ctx.reset(avcodec_alloc_context3(codec));
        if (!m_ctx) fail("out of memory");
        AVCodecContext* c = m_ctx.get();
        c->width = m_enc_w;
        c->height = m_enc_h;
        c->pix_fmt = pix;
        c->time_base = AVRational{fps_den, fps_num};
        c->framerate = AVRational{fps_num, fps_den};
        c->sample_aspect_ratio = AVRational{1, 1};
        if (rgb) {
            c->colorspace = AVCOL_SPC_RGB;
            c->color_range = AVCOL_RANGE_JPEG;
            c->gop_size = 1;  // FFV1 is intra-only; every frame a key frame
            check(av_opt_set_int(c->priv_data, "slicecrc", 1, 0), "cannot configure ffv1");
            c->level = 3;
        }
        else {
            c->colorspace = AVCOL_SPC_BT709;
            c->color_primaries = AVCOL_PRI_BT709;
            c->color_trc = AVCOL_TRC_BT709;
            c->color_range = AVCOL_RANGE_MPEG;
            if (std::string(choice.encoder) == "libx264") {
                check(av_opt_set(c->priv_data, "preset", "medium", 0), "cannot configure libx264");
                check(av_opt_set_double(c->priv_data, "crf", crf, 0), "cannot configure libx264");
            }
            else {  // libvpx-vp9: constant quality needs a zero bit rate
                c->bit_rate = 0;
                check(av_opt_set_int(c->priv_data, "crf", crf, 0), "cannot configure libvpx-vp9");
                check(av_opt_set(c->priv_data, "deadline", "good", 0), "cannot configure libvpx-vp9");
                check(av_opt_set_int(c->priv_data, "cpu-used", 4, 0), "cannot configure libvpx-vp9");
                check(av_opt_set_int(c->priv_data, "row-mt", 1, 0), "cannot configure libvpx-vp9");
            }
        }
        if (m_fmt->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        check(avcodec_open2(c, codec, nullptr), std::string("cannot open the ") + choice.encoder + " encoder");

        m_stream = avformat_new_stream(m_fmt.get(), nullptr);
        if (!m_stream) fail("out of memory");
        check(avcodec_parameters_from_context(m_stream->codecpar, c), "cannot set up the stream");
        m_stream->time_base = c->time_base;
        m_stream->avg_frame_rate = c->framerate;
        m_stream->r_frame_rate = c->framerate;

        check(avio_open(&m_fmt->pb, m_file.temp_path().c_str(), AVIO_FLAG_WRITE), "cannot open the temporary file");
        check(avformat_write_header(m_fmt.get(), nullptr), "cannot write the header");

        m_sws.reset(sws_getContext(m_enc_w, m_enc_h, AV_PIX_FMT_RGB24, m_enc_w, m_enc_h, pix,
                                   SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nullptr, nullptr, nullptr));
        if (!m_sws) fail("cannot set up the RGB conversion");
        if (!rgb &&
            sws_setColorspaceDetails(m_sws.get(), sws_getCoefficients(SWS_CS_DEFAULT), 1,
                                     sws_getCoefficients(SWS_CS_ITU709), 0, 0, 1 << 16, 1 << 16) < 0)
            fail("cannot set up the RGB to YUV conversion");

        m_frame.reset(av_frame_alloc());
        m_packet.reset(av_packet_alloc());
        if (!m_frame || !m_packet) fail("out of memory");
        m_frame->format = pix;
        m_frame->width = m_enc_w;
        m_frame->height = m_enc_h;
        check(av_frame_get_buffer(m_frame.get(), 0), "out of memory");
    }

    void write(ConstView<float> rgb /* (1, 3, height, width) */) override {
        NST_REQUIRE(!m_finished, "VideoEncoder::write after finish");
        NST_REQUIRE(rgb.shape == (Shape{1, 3, m_height, m_width}),
                    "VideoEncoder::write: frame " + rgb.shape.str() + " for a " + std::to_string(m_width) + "x" +
                        std::to_string(m_height) + " video");
        const std::vector<std::uint8_t> rgb8 = quantize_rgb8(rgb);
        check(av_frame_make_writable(m_frame.get()), "out of memory");
        // Cropping to an even size is the conversion reading only the first m_enc_w columns and
        // m_enc_h rows, with the full width as the row stride.
        const uint8_t* src[4] = {rgb8.data(), nullptr, nullptr, nullptr};
        const int src_stride[4] = {3 * m_width, 0, 0, 0};
        if (sws_scale(m_sws.get(), src, src_stride, 0, m_enc_h, m_frame->data, m_frame->linesize) != m_enc_h)
            fail("colour conversion failed");
        m_frame->pts = m_next_pts++;
        send(m_frame.get());
    }

    void finish() override {
        NST_REQUIRE(!m_finished, "VideoEncoder::finish called twice");
        send(nullptr);
        check(av_write_trailer(m_fmt.get()), "cannot finish the file");
        check(avio_closep(&m_fmt->pb), "cannot close the file");
        m_fmt.reset();
        m_finished = true;
        m_file.commit();
    }

private:
    // Encodes one frame (nullptr: flush) and muxes every packet the encoder has ready.
    void send(const AVFrame* frame) {
        check(avcodec_send_frame(m_ctx.get(), frame), "encoding failed");
        for (;;) {
            const int r = avcodec_receive_packet(m_ctx.get(), m_packet.get());
            if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
            check(r, "encoding failed");
            av_packet_rescale_ts(m_packet.get(), m_ctx->time_base, m_stream->time_base);
            m_packet->stream_index = m_stream->index;
            check(av_interleaved_write_frame(m_fmt.get(), m_packet.get()), "cannot write a frame");
        }
    }

    void check(int r, const std::string& what) const {
        if (r < 0) fail(what + " (" + av::error_string(r) + ")");
    }
    [[noreturn]] void fail(const std::string& why) const { throw_input(write_prefix(m_file.target()) + why); }

    AtomicFilePath m_file;
    int m_width, m_height;  // frames given to write()
    int m_enc_w = 0, m_enc_h = 0;  // frames encoded (cropped to even for 4:2:0 H.264)
    std::unique_ptr<AVFormatContext, OutputClose> m_fmt;  // destroyed unfinished: the file is closed, then removed
    AVStream* m_stream = nullptr;
    av::CodecContextPtr m_ctx;
    av::SwsPtr m_sws;
    av::FramePtr m_frame;
    av::PacketPtr m_packet;
    int64_t m_next_pts = 0;
    bool m_finished = false;
};

}  // namespace

std::unique_ptr<VideoEncoder> open_video_encoder(const std::string& path, int width, int height, int fps_num,
                                                 int fps_den, int crf) {
    codec_for(path);  // an unsupported extension is a usage error before any file is touched
    check_arguments(path, width, height, fps_num, fps_den, crf);
    return std::make_unique<FfmpegEncoder>(path, width, height, fps_num, fps_den, crf);
}

#else  // no FFmpeg in this build

std::unique_ptr<VideoEncoder> open_video_encoder(const std::string& path, int width, int height, int fps_num,
                                                 int fps_den, int crf) {
    codec_for(path);
    check_arguments(path, width, height, fps_num, fps_den, crf);
    throw_input(write_prefix(path) +
                "this nst was built without FFmpeg (Debian: apt-get install libavformat-dev libavcodec-dev "
                "libswscale-dev libavutil-dev, then rebuild); write a folder of frame images instead");
}

#endif

}  // namespace nst
