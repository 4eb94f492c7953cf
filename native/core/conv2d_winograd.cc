#include "conv2d_winograd.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>

#include "kernel_config.h"
#include "reduce.h"
#include "scratch_arena.h"
#include "thread_pool.h"
#include "winograd_kernels.h"
#include "winograd_wide_kernels.h"

namespace convnet {
namespace {

// Tiles (or weight pairs) transformed together: the transforms loop over lanes innermost, so
// the compiler vectorizes them across tiles without any intrinsics.
constexpr int kLanes = 8;

// Floats of transformed tiles (V and M, or V and the dy transform) per block: a block's GEMM
// operands should stay in the shared L3, and blocks are not made smaller than kMinBlockTiles
// (the GEMMs' n or k) however many channels there are.
constexpr int64_t kBlockFloats = int64_t{1} << 20;
constexpr int64_t kMinBlockTiles = 64;
// The same for a block that one thread takes through every step on its own (its L2), which is
// done when the transformed weights, read again for every block, stay in the shared cache.
constexpr int64_t kThreadBlockFloats = int64_t{1} << 18;
constexpr int64_t kSharedWeightFloats = int64_t{1} << 20;

std::atomic<ConvAlgo> g_conv_algo{ConvAlgo::kAuto};

using Transform1d = void (*)(const float* in, int64_t in_stride, float* out, int64_t out_stride);

// F(4x4, 3x3) with interpolation points 0, 1, -1, 2, -2 and infinity. Each 1-D transform maps
// kLanes columns at once: entry r of lane l is at [r * stride + l].
struct F4x4 {
  static constexpr int kM = 4;
  static constexpr int kAlpha = 6;

  // B^T d
  static void input(const float* d, int64_t ds, float* o, int64_t os) {
    for (int l = 0; l < kLanes; ++l) {
      const float d0 = d[l], d1 = d[ds + l], d2 = d[2 * ds + l], d3 = d[3 * ds + l],
                  d4 = d[4 * ds + l], d5 = d[5 * ds + l];
      o[l] = 4.0f * d0 - 5.0f * d2 + d4;
      o[os + l] = (d3 + d4) - 4.0f * (d1 + d2);
      o[2 * os + l] = (d4 - d3) + 4.0f * (d1 - d2);
      o[3 * os + l] = (d4 - d2) + 2.0f * (d3 - d1);
      o[4 * os + l] = (d4 - d2) - 2.0f * (d3 - d1);
      o[5 * os + l] = 4.0f * d1 - 5.0f * d3 + d5;
    }
  }
  // A^T m
  static void output(const float* m, int64_t ms, float* o, int64_t os) {
    for (int l = 0; l < kLanes; ++l) {
      const float m0 = m[l], m1 = m[ms + l], m2 = m[2 * ms + l], m3 = m[3 * ms + l],
                  m4 = m[4 * ms + l], m5 = m[5 * ms + l];
      const float a = m1 + m2, b = m1 - m2, c = m3 + m4, e = m3 - m4;
      o[l] = m0 + a + c;
      o[os + l] = b + 2.0f * e;
      o[2 * os + l] = a + 4.0f * c;
      o[3 * os + l] = b + 8.0f * e + m5;
    }
  }
  // A y: the adjoint of output(), for the weight gradient.
  static void output_adjoint(const float* y, int64_t ys, float* z, int64_t zs) {
    for (int l = 0; l < kLanes; ++l) {
      const float y0 = y[l], y1 = y[ys + l], y2 = y[2 * ys + l], y3 = y[3 * ys + l];
      const float even1 = y0 + y2, odd1 = y1 + y3, even2 = y0 + 4.0f * y2,
                  odd2 = 2.0f * y1 + 8.0f * y3;
      z[l] = y0;
      z[zs + l] = even1 + odd1;
      z[2 * zs + l] = even1 - odd1;
      z[3 * zs + l] = even2 + odd2;
      z[4 * zs + l] = even2 - odd2;
      z[5 * zs + l] = y3;
    }
  }
  // G g
  static void weight(const float* g, int64_t gs, float* u, int64_t us) {
    for (int l = 0; l < kLanes; ++l) {
      const float g0 = g[l], g1 = g[gs + l], g2 = g[2 * gs + l];
      const float even = g0 + g2;
      u[l] = 0.25f * g0;
      u[us + l] = (-1.0f / 6.0f) * (even + g1);
      u[2 * us + l] = (-1.0f / 6.0f) * (even - g1);
      u[3 * us + l] = (1.0f / 24.0f) * g0 + (1.0f / 12.0f) * g1 + (1.0f / 6.0f) * g2;
      u[4 * us + l] = (1.0f / 24.0f) * g0 - (1.0f / 12.0f) * g1 + (1.0f / 6.0f) * g2;
      u[5 * us + l] = g2;
    }
  }
  // G^T u: the adjoint of weight().
  static void weight_adjoint(const float* u, int64_t us, float* g, int64_t gs) {
    for (int l = 0; l < kLanes; ++l) {
      const float u0 = u[l], u1 = u[us + l], u2 = u[2 * us + l], u3 = u[3 * us + l],
                  u4 = u[4 * us + l], u5 = u[5 * us + l];
      const float s12 = u1 + u2, d12 = u2 - u1, s34 = u3 + u4, d34 = u3 - u4;
      g[l] = 0.25f * u0 - (1.0f / 6.0f) * s12 + (1.0f / 24.0f) * s34;
      g[gs + l] = (1.0f / 6.0f) * d12 + (1.0f / 12.0f) * d34;
      g[2 * gs + l] = (-1.0f / 6.0f) * s12 + (1.0f / 6.0f) * s34 + u5;
    }
  }
};

// Applies F (S entries to R) along both axes of an S x S grid of lane vectors, giving R x R.
template <int S, int R, Transform1d F>
inline void transform_2d(const float* in, float* out) {
  float tmp[R * S * kLanes];
  for (int j = 0; j < S; ++j) F(in + j * kLanes, S * kLanes, tmp + j * kLanes, S * kLanes);
  for (int i = 0; i < R; ++i) F(tmp + i * S * kLanes, kLanes, out + i * R * kLanes, kLanes);
}

// One Winograd convolution: y[N, out_c, out_h, out_w] from x[N, in_c, in_h, in_w], where output
// pixel (oh, ow) reads input rows oh - pad_h .. oh - pad_h + 2 (zero outside).
struct Geometry {
  int64_t batch, in_c, in_h, in_w, out_c, out_h, out_w, pad_h, pad_w;
  int64_t tiles_w, tiles_per_image, tiles;
};

template <class W>
Geometry make_geometry(int64_t batch, int64_t in_c, int64_t in_h, int64_t in_w, int64_t out_c,
                       int64_t out_h, int64_t out_w, int64_t pad_h, int64_t pad_w) {
  Geometry g{batch, in_c, in_h, in_w, out_c, out_h, out_w, pad_h, pad_w, 0, 0, 0};
  const int64_t tiles_h = (out_h + W::kM - 1) / W::kM;
  g.tiles_w = (out_w + W::kM - 1) / W::kM;
  g.tiles_per_image = tiles_h * g.tiles_w;
  g.tiles = batch * g.tiles_per_image;
  return g;
}

// The transforms' kernels for the active instruction set (null: the portable loops).
struct TransformKernels {
  WinogradInputKernel input = nullptr;
  WinogradMaskedInputKernel input_masked = nullptr;  // only with input
  WinogradOutputKernel output = nullptr;
  WinogradWeightKernel weight = nullptr;
};

TransformKernels transform_kernels(const KernelConfig& cfg) {
  TransformKernels k;
#if defined(CONVNET_HAVE_X86_KERNELS)
  if (cfg.isa == Isa::kAvx2) {
    k.input = f32_winograd_input_6x6_avx2;
    k.input_masked = f32_winograd_input_6x6_masked_avx2;
    k.output = f32_winograd_output_4x4_avx2;
    k.weight = f32_winograd_weight_3x3_avx2;
  }
#else
  (void)cfg;
#endif
  return k;
}

// Where kLanes consecutive tiles start: image and output row/column of each tile's corner.
struct LaneTiles {
  int count;
  int64_t image[kLanes], row[kLanes], col[kLanes];
};

template <class W>
LaneTiles lane_tiles(const Geometry& g, int64_t t0, int64_t t_end) {
  LaneTiles lt;
  lt.count = int(std::min<int64_t>(kLanes, t_end - t0));
  for (int l = 0; l < lt.count; ++l) {
    const int64_t t = t0 + l, r = t % g.tiles_per_image;
    lt.image[l] = t / g.tiles_per_image;
    lt.row[l] = (r / g.tiles_w) * W::kM;
    lt.col[l] = (r % g.tiles_w) * W::kM;
  }
  return lt;
}

// The part of a Size x Size window at (r0, c0) that lies inside an h x w plane: rows
// [i0, i1) and columns [j0, j1) of the window, the first of them at `offset` in the plane. It is
// the same for every channel of a lane group, so the zeros outside are written once per group.
struct Window {
  int i0, i1, j0, j1;
  int64_t offset;
};

template <int Size>
Window clip_window(int64_t h, int64_t w, int64_t r0, int64_t c0) {
  auto clip = [](int64_t v) { return int(std::clamp<int64_t>(v, 0, Size)); };
  Window win;
  win.i0 = clip(-r0);
  win.i1 = std::max(win.i0, clip(h - r0));
  win.j0 = clip(-c0);
  win.j1 = std::max(win.j0, clip(w - c0));
  win.offset = (r0 + win.i0) * w + c0 + win.j0;
  return win;
}

// Copies the window's inside part from plane (row stride w) into lane l of d.
template <int Size>
inline void gather_window(const float* plane, int64_t w, const Window& win, float* d, int l) {
  const float* src = plane + win.offset;
  if (win.i0 == 0 && win.i1 == Size && win.j0 == 0 && win.j1 == Size) {
    for (int i = 0; i < Size; ++i) {
      for (int j = 0; j < Size; ++j) d[(i * Size + j) * kLanes + l] = src[i * w + j];
    }
    return;
  }
  for (int i = win.i0; i < win.i1; ++i) {
    for (int j = win.j0; j < win.j1; ++j) {
      d[(i * Size + j) * kLanes + l] = src[(i - win.i0) * w + (j - win.j0)];
    }
  }
}

// Where the transforms put lane l of channel c of element e: at e * e_stride +
// channel_offset(c) + lane[l], laid out as the micro-kernel's packed panels so that the GEMMs
// need no packing of their own.
struct LaneStore {
  int64_t e_stride;
  int64_t c_div, c_panel, c_unit;  // channel c starts at (c / c_div) * c_panel + c % c_div * c_unit
  int64_t lane[kLanes];
  bool contiguous;  // lane[l] == lane[0] + l
  int64_t channel_offset(int64_t c) const { return c / c_div * c_panel + c % c_div * c_unit; }
};

// Panels of nr tiles with the channels as the depth (the forward GEMM's B): each panel is
// panel_stride floats, elements e_stride floats apart.
LaneStore panel_store(int64_t nr, int64_t panel_stride, int64_t e_stride, int64_t first) {
  LaneStore st{e_stride, 1, nr, 0, {}, true};
  for (int l = 0; l < kLanes; ++l) {
    const int64_t t = first + l;
    st.lane[l] = t / nr * panel_stride + t % nr;
    st.contiguous = st.contiguous && st.lane[l] == st.lane[0] + l;
  }
  return st;
}

// Panels of `width` channels with the tiles as the depth (the weight gradient's A and B).
LaneStore depth_panel_store(int64_t width, int64_t panel_stride, int64_t panels, int64_t first) {
  LaneStore st{panels * panel_stride, width, panel_stride, 1, {}, width == 1};
  for (int l = 0; l < kLanes; ++l) st.lane[l] = (first + l) * width;
  return st;
}

template <int kE>
inline void store_lanes(const LaneStore& st, const float* out, int64_t c, float* dst) {
  float* base = dst + st.channel_offset(c);
  if (st.contiguous) {
    for (int e = 0; e < kE; ++e) {
      float* d = base + e * st.e_stride + st.lane[0];
      for (int l = 0; l < kLanes; ++l) d[l] = out[e * kLanes + l];
    }
    return;
  }
  for (int e = 0; e < kE; ++e) {
    for (int l = 0; l < kLanes; ++l) base[e * st.e_stride + st.lane[l]] = out[e * kLanes + l];
  }
}

constexpr int64_t kLineFloats = 16;
// How far ahead (in channels) the transforms prefetch the input windows they read and the
// output tiles they write: each channel is a plane of its own, often a page of its own, where
// the hardware prefetcher does not follow. Spans longer than kMaxPrefetchLines are left to it.
constexpr int64_t kPrefetchChannels = 4;
constexpr int64_t kMaxPrefetchLines = 64;
// Prefetches (for reading or writing) the lines of floats [begin, end) from base, into L2.
template <int Write>
inline void prefetch_lines(const float* base, int64_t begin, int64_t end) {
  for (int64_t f = begin; f < end + kLineFloats - 1; f += kLineFloats) {
    // An address, not a pointer: the windows' spans may begin before x (a prefetch never faults).
    __builtin_prefetch(
        reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(base) + f * sizeof(float)), Write,
        2);
  }
}

// The floats between consecutive elements of a transformed block: at least `floats`, a whole
// number of cache lines, and an odd number of them. The transforms touch all 36 elements of a
// tile at once; a stride that is a multiple of 4 KiB (as the panels' sizes often are) would put
// all of them in one set of the L1 cache, which holds eight, and make every store a miss.
int64_t element_stride(int64_t floats) {
  const int64_t lines = (floats + kLineFloats - 1) / kLineFloats;
  return (lines | 1) * kLineFloats;
}

// The kernel's view of a lane group's windows, the same for every channel but for the
// origins (offset[l] floats from the channel's start): the masked kernel's when `masked`.
struct InputWindows {
  WinogradWindows w;
  WinogradMaskedWindows mw;
  bool masked;
  int64_t offset[kLanes];
};

template <class W>
InputWindows input_windows(const Geometry& g, const LaneTiles& lt, bool masked_kernel) {
  constexpr int kA = W::kAlpha;
  const int64_t plane_size = g.in_h * g.in_w;
  InputWindows iw;
  WinogradWindows& w = iw.w;
  for (int l = 0; l < kLanes; ++l) {
    iw.offset[l] = 0;
    w.origin[l] = nullptr;
    w.whole_rows[l] = false;
    w.row_begin[l] = w.row_end[l] = 0;
    for (int j = 0; j < kLanes; ++j) w.column_mask[l][j] = 0;
    if (l >= lt.count) continue;
    const int64_t r0 = lt.row[l] - g.pad_h, c0 = lt.col[l] - g.pad_w;
    const Window win = clip_window<kA>(g.in_h, g.in_w, r0, c0);
    w.row_begin[l] = win.i0;
    w.row_end[l] = win.i1;
    for (int j = win.j0; j < win.j1; ++j) w.column_mask[l][j] = -1;
    iw.offset[l] = lt.image[l] * g.in_c * plane_size + r0 * g.in_w + c0;
    // Plain loads of eight floats from each inside row's start stay inside x for every channel
    // (columns past the plane's edge come from the neighbouring row and are cleared).
    w.whole_rows[l] = win.i0 < win.i1 && iw.offset[l] + win.i0 * g.in_w >= 0 &&
                      iw.offset[l] + (g.in_c - 1) * plane_size + (win.i1 - 1) * g.in_w + kLanes <=
                          g.batch * g.in_c * plane_size;
  }
  w.ld = g.in_w;
  // The masked kernel reads all six rows of eight floats of every lane (rows and columns
  // outside the plane from its neighbours, cleared by the masks): when all of them lie inside
  // x for the first and the last channel, they do for every channel. Lanes past the last tile
  // read the first lane's window, all masked off.
  iw.masked = masked_kernel && lt.count > 0;
  for (int l = 0; l < lt.count && iw.masked; ++l) {
    iw.masked = iw.offset[l] >= 0 &&
                iw.offset[l] + (g.in_c - 1) * plane_size + (kA - 1) * g.in_w + kLanes <=
                    g.batch * g.in_c * plane_size;
  }
  if (!iw.masked) return iw;
  for (int l = lt.count; l < kLanes; ++l) iw.offset[l] = iw.offset[0];
  for (int i = 0; i < kA; ++i) {
    for (int l = 0; l < kLanes; ++l) {
      const bool row = i >= w.row_begin[l] && i < w.row_end[l];
      for (int j = 0; j < kLanes; ++j) iw.mw.mask[i][l][j] = row ? w.column_mask[l][j] : 0;
    }
  }
  iw.mw.ld = g.in_w;
  return iw;
}

// Points the windows at channel c of x. A window's corner may lie outside the plane (padding):
// its address is formed without pointer arithmetic outside the array, and only the inside part
// is ever loaded.
inline void aim_windows(InputWindows& iw, const float* x, int64_t c, int64_t plane_size) {
  const uintptr_t channel = reinterpret_cast<uintptr_t>(x + c * plane_size);
  const float** origin = iw.masked ? iw.mw.origin : iw.w.origin;
  for (int l = 0; l < kLanes; ++l) {
    origin[l] = reinterpret_cast<const float*>(channel + iw.offset[l] * sizeof(float));
  }
}

// The kernel's form of transform_input_tiles for up to kMaxLaneGroups lane groups (tiles t0 ..
// t_end, group i stored through st[i]), taken channel by channel: the groups of one GEMM panel
// then fill whole cache lines of it together, where one group at a time would write half of
// each line and find it evicted by the time the next group writes the other half.
constexpr int kMaxLaneGroups = 4;

template <class W>
void transform_input_groups(const Geometry& g, const float* x, int64_t t0, int64_t t_end,
                            const LaneStore* st, float* v, WinogradInputKernel kernel,
                            WinogradMaskedInputKernel masked_kernel) {
  constexpr int kE = W::kAlpha * W::kAlpha;
  const int64_t plane_size = g.in_h * g.in_w;
  const int groups = int((t_end - t0 + kLanes - 1) / kLanes);
  InputWindows iw[kMaxLaneGroups];
  for (int i = 0; i < groups; ++i) {
    const int64_t first = t0 + i * kLanes;
    iw[i] = input_windows<W>(g, lane_tiles<W>(g, first, std::min(t_end, first + kLanes)),
                             masked_kernel != nullptr);
  }
  // The floats of a plane that the windows span, prefetched a few channels ahead when few.
  int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
  for (int i = 0; i < groups; ++i) {
    for (int l = 0; l < kLanes; ++l) {
      if (iw[i].w.row_end[l] <= iw[i].w.row_begin[l]) continue;
      lo = std::min(lo, iw[i].offset[l] + iw[i].w.row_begin[l] * g.in_w);
      hi = std::max(hi, iw[i].offset[l] + (iw[i].w.row_end[l] - 1) * g.in_w + kLanes);
    }
  }
  const bool prefetch = hi > lo && hi - lo <= kMaxPrefetchLines * kLineFloats;
  float out[kE * kLanes];
  for (int64_t c = 0; c < g.in_c; ++c) {
    if (prefetch && c + kPrefetchChannels < g.in_c) {
      prefetch_lines<0>(x + (c + kPrefetchChannels) * plane_size, lo, hi);
    }
    for (int i = 0; i < groups; ++i) {
      aim_windows(iw[i], x, c, plane_size);
      const bool direct = st[i].contiguous;
      float* dst = direct ? v + st[i].channel_offset(c) + st[i].lane[0] : out;
      const int64_t stride = direct ? st[i].e_stride : kLanes;
      if (iw[i].masked) {
        masked_kernel(iw[i].mw, dst, stride);
      } else {
        kernel(iw[i].w, dst, stride);
      }
      if (!direct) store_lanes<kE>(st[i], out, c, v);
    }
  }
}

// The weight gradient's B^T x B through the kernel, its lanes eight channels of one tile: the
// packed panels (nr channels wide, tiles as the depth) then take contiguous runs of eight.
// Needs nr to be a multiple of kLanes; channels past the last come out zero.
template <class W>
void transform_input_channels(const Geometry& g, const float* x, int64_t t0, int64_t t_end,
                              int64_t b0, int64_t nr, int64_t panel, int64_t panels, float* v,
                              WinogradInputKernel kernel) {
  constexpr int kA = W::kAlpha;
  const int64_t plane_size = g.in_h * g.in_w;
  const LaneTiles lt = lane_tiles<W>(g, t0, t_end);
  for (int t = 0; t < lt.count; ++t) {
    const int64_t r0 = lt.row[t] - g.pad_h, c0 = lt.col[t] - g.pad_w;
    const Window win = clip_window<kA>(g.in_h, g.in_w, r0, c0);
    const bool whole = win.i0 == 0 && win.i1 == kA && win.j0 == 0 && win.j1 == kA &&
                       (r0 + kA - 1) * g.in_w + c0 + kLanes <= plane_size;
    WinogradWindows w;
    w.ld = g.in_w;
    const uintptr_t corner = reinterpret_cast<uintptr_t>(x) +
                             (lt.image[t] * g.in_c * plane_size + r0 * g.in_w + c0) * sizeof(float);
    for (int64_t ch0 = 0; ch0 < g.in_c; ch0 += kLanes) {
      for (int l = 0; l < kLanes; ++l) {
        const bool real = ch0 + l < g.in_c;
        w.row_begin[l] = win.i0;
        w.row_end[l] = real ? win.i1 : win.i0;
        w.whole_rows[l] = real && whole;
        for (int j = 0; j < kLanes; ++j) w.column_mask[l][j] = j >= win.j0 && j < win.j1 ? -1 : 0;
        w.origin[l] = reinterpret_cast<const float*>(
            corner + (real ? (ch0 + l) * plane_size * int64_t(sizeof(float)) : 0));
      }
      const int64_t tile = t0 - b0 + t;
      kernel(w, v + ch0 / nr * panel + tile * nr + ch0 % nr, panels * panel);
    }
  }
}

// B^T d B for the input tiles t0 .. t_end of every channel, stored through st into v (by the
// kernel when there is one: it computes F(4x4, 3x3), the only W in use).
template <class W>
void transform_input_tiles(const Geometry& g, const float* x, int64_t t0, int64_t t_end,
                           const LaneStore& st, float* v, WinogradInputKernel kernel) {
  constexpr int kA = W::kAlpha, kE = kA * kA;
  const LaneTiles lt = lane_tiles<W>(g, t0, t_end);
  const int64_t plane_size = g.in_h * g.in_w;
  if (kernel != nullptr) {
    transform_input_groups<W>(g, x, t0, t_end, &st, v, kernel, nullptr);
    return;
  }
  float out[kE * kLanes];
  float d[kE * kLanes];
  std::fill(d, d + kE * kLanes, 0.0f);  // lanes past the last tile stay zero
  Window win[kLanes];
  for (int l = 0; l < lt.count; ++l) {
    win[l] = clip_window<kA>(g.in_h, g.in_w, lt.row[l] - g.pad_h, lt.col[l] - g.pad_w);
  }
  for (int64_t c = 0; c < g.in_c; ++c) {
    for (int l = 0; l < lt.count; ++l) {
      gather_window<kA>(x + (lt.image[l] * g.in_c + c) * plane_size, g.in_w, win[l], d, l);
    }
    transform_2d<kA, kA, W::input>(d, out);
    store_lanes<kE>(st, out, c, v);
  }
}

// A y A^T for the output-gradient tiles t0 .. t_end of every channel, stored through st into z.
template <class W>
void transform_output_grad_tiles(const Geometry& g, const float* dy, int64_t t0, int64_t t_end,
                                 const LaneStore& st, float* z) {
  constexpr int kA = W::kAlpha, kE = kA * kA, kM = W::kM;
  const LaneTiles lt = lane_tiles<W>(g, t0, t_end);
  const int64_t plane_size = g.out_h * g.out_w;
  float d[kM * kM * kLanes], out[kE * kLanes];
  std::fill(d, d + kM * kM * kLanes, 0.0f);
  Window win[kLanes];
  for (int l = 0; l < lt.count; ++l) {
    win[l] = clip_window<kM>(g.out_h, g.out_w, lt.row[l], lt.col[l]);
  }
  for (int64_t o = 0; o < g.out_c; ++o) {
    for (int l = 0; l < lt.count; ++l) {
      gather_window<kM>(dy + (lt.image[l] * g.out_c + o) * plane_size, g.out_w, win[l], d, l);
    }
    transform_2d<kM, kA, W::output_adjoint>(d, out);
    store_lanes<kE>(st, out, o, z);
  }
}

// y tiles t0 .. t_end = A^T m A (+ bias), from m[e][o][tile - t0] (elements m_stride floats
// apart, rows of stride ld).
template <class W>
void transform_output_tiles(const Geometry& g, const float* m, const float* bias, int64_t t0,
                            int64_t t_end, float* y, int64_t m_stride, int64_t ld,
                            WinogradOutputKernel kernel, const WinogradTileSink* sink) {
  constexpr int kA = W::kAlpha, kE = kA * kA, kM = W::kM;
  const LaneTiles lt = lane_tiles<W>(g, t0, t_end);
  if (sink != nullptr) {
    static_assert(W::kM == kWinogradTile, "the sink's tiles are 4x4");
    float in_sink[kE * kLanes], out_sink[kM * kM * kLanes];
    alignas(64) float tiles_buf[kLanes * kM * kM];
    // The same choice of kernel as the stores below, so that the values are the same too.
    bool whole = kernel != nullptr && lt.count == kLanes;
    for (int l = 0; l < lt.count; ++l) {
      whole = whole && lt.row[l] + kM <= g.out_h && lt.col[l] + kM <= g.out_w;
    }
    for (int64_t o = 0; o < g.out_c; ++o) {
      const float b = bias != nullptr ? bias[o] : 0.0f;
      if (whole) {
        // The micro-kernel writes whole tiles: into a buffer of kM-wide rows here.
        float* tiles[kLanes];
        for (int l = 0; l < kLanes; ++l) tiles[l] = tiles_buf + l * kM * kM;
        kernel(m + o * ld, m_stride, b, tiles, kM);
      } else {
        for (int e = 0; e < kE; ++e) {
          const float* src = m + e * m_stride + o * ld;
          for (int l = 0; l < kLanes; ++l) in_sink[e * kLanes + l] = src[l];
        }
        transform_2d<kA, kM, W::output>(in_sink, out_sink);
        for (int l = 0; l < lt.count; ++l) {
          for (int k = 0; k < kM * kM; ++k)
            tiles_buf[l * kM * kM + k] = out_sink[k * kLanes + l] + b;
        }
      }
      for (int l = 0; l < lt.count; ++l) {
        sink->consume(sink->context, lt.image[l], o, lt.row[l], lt.col[l], tiles_buf + l * kM * kM);
      }
    }
    return;
  }
  const int64_t plane_size = g.out_h * g.out_w;
  float in[kE * kLanes], out[kM * kM * kLanes];
  int rows[kLanes] = {}, cols[kLanes] = {};
  int64_t offset[kLanes];
  for (int l = 0; l < lt.count; ++l) {
    rows[l] = int(std::min<int64_t>(kM, g.out_h - lt.row[l]));
    cols[l] = int(std::min<int64_t>(kM, g.out_w - lt.col[l]));
    offset[l] = lt.image[l] * g.out_c * plane_size + lt.row[l] * g.out_w + lt.col[l];
  }
  bool whole = kernel != nullptr && lt.count == kLanes;  // the kernel writes only whole tiles
  for (int l = 0; l < lt.count; ++l) whole = whole && rows[l] == kM && cols[l] == kM;
  if (whole) {
    float* tiles[kLanes];
    for (int64_t o = 0; o < g.out_c; ++o) {
      for (int l = 0; l < kLanes; ++l) tiles[l] = y + o * plane_size + offset[l];
      kernel(m + o * ld, m_stride, bias != nullptr ? bias[o] : 0.0f, tiles, g.out_w);
    }
    return;
  }
  for (int64_t o = 0; o < g.out_c; ++o) {
    for (int e = 0; e < kE; ++e) {
      const float* src = m + e * m_stride + o * ld;
      for (int l = 0; l < kLanes; ++l) in[e * kLanes + l] = src[l];
    }
    transform_2d<kA, kM, W::output>(in, out);
    const float b = bias != nullptr ? bias[o] : 0.0f;
    for (int l = 0; l < lt.count; ++l) {
      float* dst = y + o * plane_size + offset[l];
      if (rows[l] == kM && cols[l] == kM) {
        for (int i = 0; i < kM; ++i) {
          for (int j = 0; j < kM; ++j) dst[i * g.out_w + j] = out[(i * kM + j) * kLanes + l] + b;
        }
        continue;
      }
      for (int i = 0; i < rows[l]; ++i) {
        for (int j = 0; j < cols[l]; ++j) dst[i * g.out_w + j] = out[(i * kM + j) * kLanes + l] + b;
      }
    }
  }
}

// transform_output_tiles for up to kMaxLaneGroups lane groups (tiles t0 .. t_end, m as there),
// taken channel by channel, as transform_input_groups does and for the same reason: the groups
// read whole lines of m together. The kernel's whole-tile stores when every group is whole.
template <class W>
void transform_output_groups(const Geometry& g, const float* m, const float* bias, int64_t t0,
                             int64_t t_end, float* y, int64_t m_stride, int64_t ld,
                             WinogradOutputKernel kernel, const WinogradTileSink* sink) {
  constexpr int kM = W::kM;
  const int groups = int((t_end - t0 + kLanes - 1) / kLanes);
  bool whole = kernel != nullptr && sink == nullptr && t_end - t0 == int64_t{groups} * kLanes;
  int64_t offset[kMaxLaneGroups][kLanes] = {};
  for (int i = 0; i < groups && whole; ++i) {
    const LaneTiles lt = lane_tiles<W>(g, t0 + i * kLanes, t0 + (i + 1) * kLanes);
    for (int l = 0; l < kLanes; ++l) {
      whole = whole && lt.row[l] + kM <= g.out_h && lt.col[l] + kM <= g.out_w;
      offset[i][l] = lt.image[l] * g.out_c * g.out_h * g.out_w + lt.row[l] * g.out_w + lt.col[l];
    }
  }
  if (!whole) {
    for (int i = 0; i < groups; ++i) {
      const int64_t first = t0 + i * kLanes;
      transform_output_tiles<W>(g, m + i * kLanes, bias, first, std::min(t_end, first + kLanes), y,
                                m_stride, ld, kernel, sink);
    }
    return;
  }
  const int64_t plane_size = g.out_h * g.out_w;
  int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
  for (int i = 0; i < groups; ++i) {
    for (int l = 0; l < kLanes; ++l) {
      lo = std::min(lo, offset[i][l]);
      hi = std::max(hi, offset[i][l] + (kM - 1) * g.out_w + kM);
    }
  }
  const bool prefetch = hi > lo && hi - lo <= kMaxPrefetchLines * kLineFloats;
  float* tiles[kLanes];
  for (int64_t o = 0; o < g.out_c; ++o) {
    if (prefetch && o + kPrefetchChannels < g.out_c) {
      prefetch_lines<1>(y + (o + kPrefetchChannels) * plane_size, lo, hi);
    }
    const float b = bias != nullptr ? bias[o] : 0.0f;
    for (int i = 0; i < groups; ++i) {
      for (int l = 0; l < kLanes; ++l) tiles[l] = y + o * plane_size + offset[i][l];
      kernel(m + o * ld + i * kLanes, m_stride, b, tiles, g.out_w);
    }
  }
}

// The micro-kernel's view of one element's GEMM M[e] (rows x tiles) = U[e] (rows x depth) *
// V[e] (depth x tiles): U in mr-row panels and V in nr-tile panels, each panel padded to a
// whole number of 64-byte lines so every panel starts aligned.
struct PackedGemm {
  int64_t mr, nr, kc;
  int64_t rows, depth;
  int64_t a_panel, a_panels;  // floats per U panel, panels per element
  int64_t b_panel;            // floats per V panel
};

// U is stored panel-major, [panel][element][depth][mr], so that the weight transform writes
// one contiguous region per panel: element e's panel p is at (p * elements + e) * a_panel.
PackedGemm packed_gemm(const KernelConfig& cfg, int64_t rows, int64_t depth) {
  constexpr int64_t kLine = int64_t(ScratchArena::kAlignment / sizeof(float));
  PackedGemm p;
  p.mr = cfg.mr;
  p.nr = cfg.nr;
  p.kc = std::max(kLine, cfg.kc / kLine * kLine);  // keeps depth chunks' panels aligned
  p.rows = rows;
  p.depth = depth;
  p.a_panel = element_stride(p.mr * depth);  // the weight transform writes 36 panels at once
  p.a_panels = (rows + p.mr - 1) / p.mr;
  p.b_panel = (p.nr * depth + kLine - 1) / kLine * kLine;
  return p;
}

// dst[e * stride + l] = out[e][l] for the first Run lanes of each of kE lane vectors.
template <int kE, int Run>
inline void store_runs(const float* out, float* dst, int64_t stride) {
  for (int e = 0; e < kE; ++e) {
    for (int l = 0; l < Run; ++l) dst[e * stride + l] = out[e * kLanes + l];
  }
}

// u (packed A panels, see PackedGemm) = G g G^T for the 3x3 kernels at w + r * row_stride +
// q * col_stride (r < rows of the GEMM, q < depth), each rotated by 180 degrees when flip is set.
// The lanes are a panel's mr rows (mr <= kLanes), so each result is a contiguous run of the
// panel; rows past the last are zero.
template <class W>
void transform_weights(const PackedGemm& pg, const float* w, int64_t row_stride, int64_t col_stride,
                       bool flip, float* u, WinogradWeightKernel kernel) {
  constexpr int kA = W::kAlpha, kE = kA * kA;
  const int mr = int(pg.mr);
  if (kernel != nullptr && mr <= kLanes) {
    static const float kZeros[9] = {};
    parallel_range(pg.a_panels, 1, [&](int64_t p_begin, int64_t p_end) {
      const float* kernels[kLanes];
      for (int64_t panel = p_begin; panel < p_end; ++panel) {
        float* base = u + panel * kE * pg.a_panel;
        const int rows = int(std::min<int64_t>(mr, pg.rows - panel * mr));
        const float* w_panel = w + panel * mr * row_stride;
        for (int l = rows; l < kLanes; ++l) kernels[l] = kZeros;
        for (int64_t q = 0; q < pg.depth; ++q) {
          for (int l = 0; l < rows; ++l) kernels[l] = w_panel + l * row_stride + q * col_stride;
          // All eight lanes but for the last q: the two past mr land on the next q's place,
          // written next, and whole stores cost far less than masked ones.
          kernel(kernels, flip, base + q * mr, pg.a_panel, q + 1 < pg.depth ? kLanes : mr);
        }
      }
    });
    return;
  }
  parallel_range(pg.a_panels, 1, [&](int64_t p_begin, int64_t p_end) {
    float g[9 * kLanes], out[kE * kLanes];
    std::fill(g, g + 9 * kLanes, 0.0f);
    for (int64_t panel = p_begin; panel < p_end; ++panel) {
      float* base = u + panel * kE * pg.a_panel;
      const int rows = int(std::min<int64_t>(mr, pg.rows - panel * mr));
      for (int l = rows; l < kLanes; ++l) {
        for (int k = 0; k < 9; ++k) g[k * kLanes + l] = 0.0f;
      }
      const float* w_panel = w + panel * mr * row_stride;
      for (int64_t q = 0; q < pg.depth; ++q) {
        for (int l = 0; l < rows; ++l) {
          const float* src = w_panel + l * row_stride + q * col_stride;
          for (int k = 0; k < 9; ++k) g[k * kLanes + l] = src[flip ? 8 - k : k];
        }
        transform_2d<3, kA, W::weight>(g, out);
        float* dst = base + q * mr;
        switch (mr) {  // a constant run length keeps the copies inline (no memcpy calls)
          case 4:
            store_runs<kE, 4>(out, dst, pg.a_panel);
            break;
          case 6:
            store_runs<kE, 6>(out, dst, pg.a_panel);
            break;
          case 8:
            store_runs<kE, 8>(out, dst, pg.a_panel);
            break;
          default:
            for (int e = 0; e < kE; ++e) {
              for (int l = 0; l < mr; ++l) dst[e * pg.a_panel + l] = out[e * kLanes + l];
            }
        }
      }
    }
  });
}

// m (rows x cols, row stride ldc; rows rounded up to mr) = u * v for one element, whose A
// panels are a_stride floats apart, cols a multiple of nr.
void packed_element_gemm(const KernelConfig& cfg, const PackedGemm& pg, const float* u,
                         int64_t a_stride, const float* v, int64_t cols, float* m, int64_t ldc) {
  for (int64_t panel = 0; panel < pg.a_panels; ++panel) {
    const float* a = u + panel * a_stride;
    float* c_rows = m + panel * pg.mr * ldc;
    for (int64_t k0 = 0; k0 < pg.depth; k0 += pg.kc) {
      const int64_t kc = std::min(pg.kc, pg.depth - k0);
      const float beta = k0 == 0 ? 0.0f : 1.0f;
      for (int64_t j = 0; j < cols; j += pg.nr) {
        cfg.gemm_ukernel(kc, a + k0 * pg.mr, v + j / pg.nr * pg.b_panel + k0 * pg.nr, c_rows + j,
                         ldc, 1.0f, beta);
      }
    }
  }
}

// Tiles per block: as many as fit kBlockFloats with `channels` rows per element, a multiple of
// `unit`, at least kMinBlockTiles, at most the tiles there are.
template <class W>
int64_t block_tiles(const Geometry& g, int64_t channels, int64_t unit) {
  constexpr int64_t kE = W::kAlpha * W::kAlpha;
  const int64_t fit = kBlockFloats / (kE * channels) / unit * unit;
  const int64_t all = (g.tiles + unit - 1) / unit * unit;
  const int64_t least = (kMinBlockTiles + unit - 1) / unit * unit;
  return std::min(all, std::max(least, fit));
}

// Runs fn(t0, t_end) over the groups of `size` tiles of [b0, b1), spread over the pool.
template <class Fn>
void for_each_lane_group(int64_t b0, int64_t b1, int64_t size, Fn fn) {
  const int64_t groups = (b1 - b0 + size - 1) / size;
  ThreadPool::global().parallel_for(groups, [&](int64_t i, int) {
    const int64_t t0 = b0 + i * size;
    fn(t0, std::min(b1, t0 + size));
  });
}

// y = winograd convolution of x with u (transform_weights' panels for pg), plus bias.
template <class W>
void winograd_convolve(const KernelConfig& cfg, const PackedGemm& pg, const Geometry& g,
                       const float* x, const float* u, const float* bias, float* y,
                       const WinogradTileSink* sink = nullptr) {
  const TransformKernels kernels = transform_kernels(cfg);
  constexpr int64_t kE = W::kAlpha * W::kAlpha;
  const int64_t unit = std::max<int64_t>(kLanes, pg.nr);  // both divide the other
  const int64_t m_rows = pg.a_panels * pg.mr;
  // One block of tiles through all three steps: inside a parallel_for (each thread its own
  // blocks) the nested loops run inline, otherwise each step is spread over the pool.
  // A block's V and M, elements v_stride(block) and m_stride(block) floats apart.
  auto v_stride = [&](int64_t block) { return element_stride(block / pg.nr * pg.b_panel); };
  auto m_stride = [&](int64_t block) { return element_stride(m_rows * block); };
  auto convolve_block = [&](int64_t b0, int64_t b1, int64_t block, float* v, float* m) {
    const int64_t vs = v_stride(block), ms = m_stride(block);
    const int64_t cols = (b1 - b0 + pg.nr - 1) / pg.nr * pg.nr;
    if (kernels.input != nullptr && unit <= kMaxLaneGroups * kLanes) {
      for_each_lane_group(b0, b1, unit, [&](int64_t t0, int64_t t1) {
        LaneStore st[kMaxLaneGroups];
        for (int64_t i = 0; t0 + i * kLanes < t1; ++i) {
          st[i] = panel_store(pg.nr, pg.b_panel, vs, t0 + i * kLanes - b0);
        }
        transform_input_groups<W>(g, x, t0, t1, st, v, kernels.input, kernels.input_masked);
      });
    } else {
      for_each_lane_group(b0, b1, kLanes, [&](int64_t t0, int64_t t1) {
        const LaneStore st = panel_store(pg.nr, pg.b_panel, vs, t0 - b0);
        transform_input_tiles<W>(g, x, t0, t1, st, v, kernels.input);
      });
    }
    ThreadPool::global().parallel_for(kE, [&](int64_t e, int) {
      packed_element_gemm(cfg, pg, u + e * pg.a_panel, kE * pg.a_panel, v + e * vs, cols,
                          m + e * ms, block);
    });
    for_each_lane_group(b0, b1, std::min<int64_t>(unit, kMaxLaneGroups * kLanes),
                        [&](int64_t t0, int64_t t1) {
                          transform_output_groups<W>(g, m + (t0 - b0), bias, t0, t1, y, ms, block,
                                                     kernels.output, sink);
                        });
  };
  ThreadPool& pool = ThreadPool::global();
  // Many tiles and few channels: each thread takes whole blocks sized for its own L2, with no
  // barrier between the steps (a descheduled thread then stalls no one).
  const int64_t small =
      std::max(unit, kThreadBlockFloats / (kE * (g.in_c + g.out_c)) / unit * unit);
  const int64_t small_blocks = (g.tiles + small - 1) / small;
  if (pool.participants(small_blocks) > 1 && small_blocks >= 4 * pool.num_threads() &&
      kE * g.out_c * g.in_c <= kSharedWeightFloats) {
    pool.parallel_for(small_blocks, [&](int64_t i, int) {
      ScratchArena::Scope scope;
      float* v = ScratchArena::local().allocate_floats(kE * v_stride(small));
      float* m = ScratchArena::local().allocate_floats(kE * m_stride(small));
      convolve_block(i * small, std::min(g.tiles, (i + 1) * small), small, v, m);
    });
    return;
  }
  const int64_t block = block_tiles<W>(g, g.in_c + g.out_c, unit);
  ScratchArena::Scope scope;
  float* v = ScratchArena::local().allocate_floats(kE * v_stride(block));
  float* m = ScratchArena::local().allocate_floats(kE * m_stride(block));
  for (int64_t b0 = 0; b0 < g.tiles; b0 += block) {
    convolve_block(b0, std::min(g.tiles, b0 + block), block, v, m);
  }
}

// Wide layers with few tiles (ResNet-18's last stages): U, 36 * out_c * in_c floats, is far
// larger than the caches and each of its floats meets only a few dozen tiles in the GEMMs, so
// writing it out and streaming it back makes both the weight transform and the GEMMs wait on
// memory. Instead each task transforms the weights of a few mr-row panels over a slice of the
// GEMM depth into a buffer that stays in its core's L2, and runs the 36 element GEMMs of those
// rows against the whole block of transformed input tiles V (shared, in L3) at once.
// Every weight is still transformed once per block of tiles, which is cheap next to its
// 2 * 36 * tiles multiply-adds.
constexpr int64_t kWideWeightFloats = int64_t{1} << 17;  // one task's transformed weights
constexpr int64_t kWideBlockFloats = int64_t{1} << 22;   // a block's V and M, in L3

// Where a wide layer's weights are read: the 3x3 kernel of GEMM row r and depth q starts at
// w + r * row_stride + q * col_stride, rotated by 180 degrees when flip is set.
struct WeightSource {
  const float* w;
  int64_t row_stride, col_stride;
  bool flip;
};

std::atomic<int64_t> g_wide_weight_limit{-1};  // negative: kSharedWeightFloats

// The wide path takes a layer whose transformed weights are too large to be shared from cache
// by the blocks of tiles: the same bound under which the small-block path keeps U.
bool use_wide_path(const Geometry& g, int64_t elements) {
  const int64_t set = g_wide_weight_limit.load(std::memory_order_relaxed);
  return elements * g.out_c * g.in_c > (set >= 0 ? set : kSharedWeightFloats);
}

// u[e * slice + (q - q0) * mr + l] = element e of the panel's row l, depth q in [q0, q1): the
// panel's rows past pg.rows come out zero. The portable loops need mr <= kLanes, as
// transform_weights' do.
template <class W>
void transform_weight_slice(const PackedGemm& pg, const WeightSource& src, int64_t panel,
                            int64_t q0, int64_t q1, int64_t slice, float* u,
                            WinogradWeightPanelKernel kernel) {
  constexpr int kA = W::kAlpha, kE = kA * kA;
  const int mr = int(pg.mr);
  const int rows = int(std::min<int64_t>(mr, pg.rows - panel * mr));
  const float* w_panel = src.w + panel * mr * src.row_stride + q0 * src.col_stride;
  if (kernel != nullptr) {
    kernel(w_panel, src.row_stride, src.col_stride, src.flip, mr, rows, q1 - q0, u, slice);
    return;
  }
  float g[9 * kLanes], out[kE * kLanes];
  std::fill(g, g + 9 * kLanes, 0.0f);
  for (int64_t q = 0; q < q1 - q0; ++q) {
    for (int l = 0; l < rows; ++l) {
      const float* k = w_panel + l * src.row_stride + q * src.col_stride;
      for (int i = 0; i < 9; ++i) g[i * kLanes + l] = k[src.flip ? 8 - i : i];
    }
    transform_2d<3, kA, W::weight>(g, out);
    for (int e = 0; e < kE; ++e) {
      for (int l = 0; l < mr; ++l) u[e * slice + q * mr + l] = out[e * kLanes + l];
    }
  }
}

WinogradWeightPanelKernel weight_panel_kernel(const KernelConfig& cfg) {
#if defined(CONVNET_HAVE_X86_KERNELS)
  if (cfg.isa == Isa::kAvx2) return f32_winograd_weight_panel_avx2;
#else
  (void)cfg;
#endif
  return nullptr;
}

template <class W>
void winograd_convolve_wide(const KernelConfig& cfg, const PackedGemm& pg, const Geometry& g,
                            const float* x, const WeightSource& src, const float* bias, float* y,
                            const WinogradTileSink* sink = nullptr) {
  const TransformKernels kernels = transform_kernels(cfg);
  const WinogradWeightPanelKernel weight_kernel = weight_panel_kernel(cfg);
  constexpr int64_t kE = W::kAlpha * W::kAlpha;
  const int64_t unit = std::max<int64_t>(kLanes, pg.nr);
  const int64_t m_rows = pg.a_panels * pg.mr;
  const int64_t all = (g.tiles + unit - 1) / unit * unit;
  const int64_t block =
      std::min(all, std::max(unit, kWideBlockFloats / (kE * (g.in_c + g.out_c)) / unit * unit));
  // A task's panels and depth slice: as many panels over the whole depth as the buffer holds
  // (each pass over V then serves them all), or one panel over slices of the depth.
  constexpr int64_t kLine = int64_t(ScratchArena::kAlignment / sizeof(float));
  const int64_t slice_depth =
      std::min(pg.depth, std::max(kLine, kWideWeightFloats / (kE * pg.mr) / kLine * kLine));
  const int64_t task_panels = std::max<int64_t>(1, kWideWeightFloats / (kE * pg.mr * slice_depth));
  const int64_t tasks = (pg.a_panels + task_panels - 1) / task_panels;
  // The weight transform writes all 36 elements of a panel at once (see element_stride).
  const int64_t slice = element_stride(slice_depth * pg.mr);
  ScratchArena::Scope scope;
  const int64_t b_panels = block / pg.nr;
  const int64_t v_stride = element_stride(b_panels * pg.b_panel);
  float* v = ScratchArena::local().allocate_floats(kE * v_stride);
  float* m = ScratchArena::local().allocate_floats(kE * m_rows * block);
  for (int64_t b0 = 0; b0 < g.tiles; b0 += block) {
    const int64_t b1 = std::min(g.tiles, b0 + block);
    const int64_t cols = (b1 - b0 + pg.nr - 1) / pg.nr * pg.nr;
    for_each_lane_group(b0, b1, kLanes, [&](int64_t t0, int64_t t1) {
      const LaneStore st = panel_store(pg.nr, pg.b_panel, v_stride, t0 - b0);
      transform_input_tiles<W>(g, x, t0, t1, st, v, kernels.input);
    });
    ThreadPool::global().parallel_for(tasks, [&](int64_t task, int) {
      const int64_t p0 = task * task_panels, p1 = std::min(pg.a_panels, p0 + task_panels);
      ScratchArena::Scope task_scope;
      float* u = ScratchArena::local().allocate_floats((p1 - p0) * kE * slice);
      for (int64_t q0 = 0; q0 < pg.depth; q0 += slice_depth) {
        const int64_t q1 = std::min(pg.depth, q0 + slice_depth), depth = q1 - q0;
        const float beta = q0 == 0 ? 0.0f : 1.0f;
        for (int64_t p = p0; p < p1; ++p) {
          transform_weight_slice<W>(pg, src, p, q0, q1, slice, u + (p - p0) * kE * slice,
                                    weight_kernel);
        }
        for (int64_t e = 0; e < kE; ++e) {
          const float* ve = v + e * v_stride + q0 * pg.nr;
          float* me = m + e * m_rows * block;
          for (int64_t j = 0; j < cols; j += pg.nr) {
            for (int64_t p = p0; p < p1; ++p) {
              cfg.gemm_ukernel(depth, u + ((p - p0) * kE + e) * slice, ve + j / pg.nr * pg.b_panel,
                               me + p * pg.mr * block + j, block, 1.0f, beta);
            }
          }
        }
      }
    });
    for_each_lane_group(b0, b1, kLanes, [&](int64_t t0, int64_t t1) {
      transform_output_tiles<W>(g, m + (t0 - b0), bias, t0, t1, y, m_rows * block, block,
                                kernels.output, sink);
    });
  }
}

// The cost rule (measured on ResNet-18's and the reference CNN's layers): the transforms cost per
// tile and channel about as much as the GEMMs over a few dozen channels, so narrow layers (a
// first layer's 1 or 3 inputs) stay on the direct path. The weight gradient's transforms are
// dearer (both x and dy are transformed), so it needs wider layers (the reference CNN's
// 32 -> 64 is slower than direct, ResNet-18's 64 -> 64 faster).
constexpr int64_t kMinChannelsForward = 16;
constexpr int64_t kMinChannelsWeightGrad = 64;
// Outputs narrower than this waste most of each 4x4 tile.
constexpr int64_t kMinOutputSize = 3;

// min_channels: the least of in and out channels from which Winograd pays for this pass.
bool use_winograd(const Conv2dShape& s, int64_t min_channels) {
  if (!conv2d_winograd_supported(s) || s.batch == 0 || s.out_height <= 0 || s.out_width <= 0) {
    return false;
  }
  switch (conv_algo()) {
    case ConvAlgo::kDirect:
      return false;
    case ConvAlgo::kWinograd:
      return true;
    case ConvAlgo::kAuto:
      break;
  }
  return std::min(s.in_channels, s.out_channels) >= min_channels &&
         std::min(s.out_height, s.out_width) >= kMinOutputSize;
}

using Tile = F4x4;

// y (or sink) = the Winograd convolution of x with the 3x3 kernels that ws describes: through
// the wide path when their transformed weights are too large to share from cache, otherwise
// with the weights transformed whole first.
void convolve_with_weights(const Geometry& g, const float* x, const WeightSource& ws,
                           const float* bias, float* y, const WinogradTileSink* sink) {
  constexpr int64_t kE = Tile::kAlpha * Tile::kAlpha;
  const KernelConfig& cfg = active_kernel_config();
  const PackedGemm pg = packed_gemm(cfg, g.out_c, g.in_c);
  if (use_wide_path(g, kE)) {
    winograd_convolve_wide<Tile>(cfg, pg, g, x, ws, bias, y, sink);
    return;
  }
  ScratchArena::Scope scope;
  float* u = ScratchArena::local().allocate_floats(kE * pg.a_panels * pg.a_panel);
  transform_weights<Tile>(pg, ws.w, ws.row_stride, ws.col_stride, ws.flip, u,
                          transform_kernels(cfg).weight);
  winograd_convolve<Tile>(cfg, pg, g, x, u, bias, y, sink);
}

// The forward pass's geometry of shape s.
Geometry forward_geometry(const Conv2dShape& s) {
  return make_geometry<Tile>(s.batch, s.in_channels, s.in_height, s.in_width, s.out_channels,
                             s.out_height, s.out_width, s.pad_h, s.pad_w);
}

}  // namespace

const char* conv_algo_name(ConvAlgo algo) {
  switch (algo) {
    case ConvAlgo::kDirect:
      return "direct";
    case ConvAlgo::kWinograd:
      return "winograd";
    case ConvAlgo::kAuto:
      break;
  }
  return "auto";
}

std::optional<ConvAlgo> parse_conv_algo(std::string_view name) {
  for (ConvAlgo a : {ConvAlgo::kAuto, ConvAlgo::kDirect, ConvAlgo::kWinograd}) {
    if (name == conv_algo_name(a)) return a;
  }
  return std::nullopt;
}

ConvAlgo conv_algo() { return g_conv_algo.load(std::memory_order_relaxed); }
void set_winograd_wide_weight_limit(int64_t floats) {
  g_wide_weight_limit.store(floats, std::memory_order_relaxed);
}
void set_conv_algo(ConvAlgo algo) { g_conv_algo.store(algo, std::memory_order_relaxed); }

bool conv2d_winograd_supported(const Conv2dShape& s) {
  return s.kernel_h == 3 && s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 &&
         s.dilation_h == 1 && s.dilation_w == 1 && s.groups == 1;
}

bool conv2d_winograd_selected(const Conv2dShape& s) {
  return use_winograd(s, kMinChannelsForward) && s.in_channels != 0;
}

bool conv2d_forward_winograd(const Conv2dShape& s, const float* x, const float* w,
                             const float* bias, float* y) {
  if (!conv2d_winograd_selected(s)) return false;
  convolve_with_weights(forward_geometry(s), x, {w, s.in_channels * 9, 9, false}, bias, y, nullptr);
  return true;
}

bool conv2d_forward_winograd_tiles(const Conv2dShape& s, const float* x, const float* w,
                                   const float* bias, const WinogradTileSink& sink) {
  if (!conv2d_winograd_selected(s)) return false;
  convolve_with_weights(forward_geometry(s), x, {w, s.in_channels * 9, 9, false}, bias, nullptr,
                        &sink);
  return true;
}

// For stride 1 the input gradient is the convolution of dy with each kernel rotated by 180
// degrees and in/out channels swapped, padded by 2 - pad (negative: cropped).
bool conv2d_backward_input_winograd(const Conv2dShape& s, const float* dy, const float* w,
                                    float* dx) {
  if (!use_winograd(s, kMinChannelsForward) || s.in_channels == 0 || s.out_channels == 0) {
    return false;
  }
  const Geometry g =
      make_geometry<Tile>(s.batch, s.out_channels, s.out_height, s.out_width, s.in_channels,
                          s.in_height, s.in_width, 2 - s.pad_h, 2 - s.pad_w);
  convolve_with_weights(g, dy, {w, 9, s.in_channels * 9, true}, nullptr, dx, nullptr);
  return true;
}

namespace {

// The weight gradient's kernels for the active instruction set (null: the portable loops). The
// output-gradient kernel writes panels six channels wide (AVX2's mr), the input kernel panels
// of a multiple of kLanes (its nr).
struct WeightGradKernels {
  WinogradGradInputKernel input = nullptr;
  WinogradGradOutputKernel output_grad = nullptr;
  WinogradGradWeightKernel weight = nullptr;
};

WeightGradKernels weight_grad_kernels(const KernelConfig& cfg) {
  WeightGradKernels k;
#if defined(CONVNET_HAVE_X86_KERNELS)
  if (cfg.isa == Isa::kAvx2 && cfg.mr == 6 && cfg.nr % kLanes == 0) {
    k.input = f32_winograd_grad_input_6x6_avx2;
    k.output_grad = f32_winograd_grad_output_4x4_6panel_avx2;
    k.weight = f32_winograd_grad_weight_3x3_avx2;
  }
#else
  (void)cfg;
#endif
  return k;
}

// The weight gradient's GEMMs, per element e: dU[e] (out_c x in_c) += Z[e] (out_c x tiles) *
// V[e]^T (tiles x in_c), the tiles of a block as the depth: Z in mr-row panels and V in
// nr-column panels, both written by the transforms in the micro-kernel's order.
struct WeightGradPlan {
  int64_t mr, nr, kc;
  int64_t block;                          // tiles per block
  int64_t a_panels, a_panel;              // Z: panels per element, floats per panel
  int64_t b_panels, b_panel;              // V: the same
  int64_t du_rows, ldu;                   // dU's rows (out_c rounded up to mr) and row stride
  int64_t z_stride, v_stride, du_stride;  // floats from one element to the next
};

// Floats of Z and V together below which every tile goes into one block: then dU lives only
// in small per-task buffers and goes straight into dw (no 36 x out_c x in_c array that is
// written and read back). The blocks of larger problems keep their Z and V in the shared cache.
constexpr int64_t kOneBlockFloats = int64_t{1} << 22;

template <class W>
WeightGradPlan weight_grad_plan(const KernelConfig& cfg, const Geometry& g) {
  constexpr int64_t kE = W::kAlpha * W::kAlpha;
  constexpr int64_t kLine = int64_t(ScratchArena::kAlignment / sizeof(float));
  WeightGradPlan p;
  p.mr = cfg.mr;
  p.nr = cfg.nr;
  p.kc = std::max(kLine, cfg.kc / kLine * kLine);
  const int64_t all = (g.tiles + kLanes - 1) / kLanes * kLanes;
  p.block = kE * (g.in_c + g.out_c) * all <= kOneBlockFloats
                ? all
                : block_tiles<W>(g, g.in_c + g.out_c, kLanes);
  p.a_panels = (g.out_c + p.mr - 1) / p.mr;
  p.b_panels = (g.in_c + p.nr - 1) / p.nr;
  p.a_panel = (p.mr * p.block + kLine - 1) / kLine * kLine;
  p.b_panel = (p.nr * p.block + kLine - 1) / kLine * kLine;
  p.du_rows = p.a_panels * p.mr;
  p.ldu = p.b_panels * p.nr;
  p.z_stride = p.a_panels * p.a_panel;
  p.v_stride = p.b_panels * p.b_panel;
  p.du_stride = element_stride(p.du_rows * p.ldu);
  return p;
}

// The windows of tiles [b0, b1) in x and in dy, for the kernels.
template <class W>
void weight_grad_windows(const Geometry& g, const float* x, const float* dy, int64_t b0, int64_t b1,
                         WinogradChannelWindow* in_w, WinogradChannelWindow* out_w) {
  constexpr int kA = W::kAlpha, kM = W::kM;
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for (int64_t t0 = b0; t0 < b1; t0 += kLanes) {
    const LaneTiles lt = lane_tiles<W>(g, t0, b1);
    for (int t = 0; t < lt.count; ++t) {
      const int64_t r0 = lt.row[t] - g.pad_h, c0 = lt.col[t] - g.pad_w;
      const Window win = clip_window<kA>(g.in_h, g.in_w, r0, c0);
      WinogradChannelWindow& w = in_w[t0 - b0 + t];
      w.corner =
          reinterpret_cast<uintptr_t>(x) +
          uintptr_t((lt.image[t] * g.in_c * in_plane + r0 * g.in_w + c0) * int64_t(sizeof(float)));
      w.begin = reinterpret_cast<uintptr_t>(x);
      w.end = reinterpret_cast<uintptr_t>(x + g.batch * g.in_c * in_plane);
      w.plane = in_plane;
      w.ld = g.in_w;
      w.row_begin = win.i0;
      w.row_end = win.i1;
      w.col_begin = win.j0;
      w.col_end = win.j1;
      // Eight floats from the last row's start stay inside the plane.
      w.whole = win.i0 == 0 && win.i1 == kA && win.j0 == 0 && win.j1 == kA &&
                (r0 + kA - 1) * g.in_w + c0 + kLanes <= in_plane;

      const Window out_win = clip_window<kM>(g.out_h, g.out_w, lt.row[t], lt.col[t]);
      WinogradChannelWindow& o = out_w[t0 - b0 + t];
      o.corner = reinterpret_cast<uintptr_t>(dy + lt.image[t] * g.out_c * out_plane +
                                             lt.row[t] * g.out_w + lt.col[t]);
      o.begin = reinterpret_cast<uintptr_t>(dy);
      o.end = reinterpret_cast<uintptr_t>(dy + g.batch * g.out_c * out_plane);
      o.plane = out_plane;
      o.ld = g.out_w;
      o.row_begin = out_win.i0;
      o.row_end = out_win.i1;
      o.col_begin = out_win.j0;
      o.col_end = out_win.j1;
      o.whole = out_win.i1 == kM && out_win.j1 == kM;
    }
  }
}

// Tiles per transform task: whole tile rows, at least 64 tiles (fewer only when the block has
// fewer).
int64_t weight_grad_run(const Geometry& g, int64_t n) {
  constexpr int64_t kRunTiles = 64;
  return std::min(n, (kRunTiles + g.tiles_w - 1) / g.tiles_w * g.tiles_w);
}

// V and Z of the block's n tiles by the kernels, in tasks of a run of tiles and whole panels'
// worth of channels (nr for V, 24 = 4 panels of 6 for Z): each task writes whole cache lines,
// front to back, that no other task shares. Also, unless sums is null, sums[r * out_c + o] =
// the sum of dy's channel o over run r of the block (for the bias gradient).
void transform_weight_grad_block(const Geometry& g, const WeightGradPlan& p,
                                 const WeightGradKernels& k, const WinogradChannelWindow* in_w,
                                 const WinogradChannelWindow* out_w, int64_t n, float* v, float* z,
                                 float* sums) {
  const int64_t run = weight_grad_run(g, n);
  const int64_t runs = (n + run - 1) / run;
  const int64_t in_width = p.nr, out_width = 4 * p.mr;
  const int64_t in_groups = (g.in_c + in_width - 1) / in_width;
  const int64_t out_groups = (g.out_c + out_width - 1) / out_width;
  ThreadPool::global().parallel_for((in_groups + out_groups) * runs, [&](int64_t task, int) {
    const int64_t group = task / runs, t0 = task % runs * run, t1 = std::min(n, t0 + run);
    if (group < in_groups) {
      const int64_t c0 = group * in_width;
      k.input(in_w + t0, t1 - t0, c0, std::min(g.in_c, c0 + in_width), v + t0 * p.nr, p.nr, p.nr,
              p.b_panel, p.v_stride);
    } else {
      const int64_t c0 = (group - in_groups) * out_width, c1 = std::min(g.out_c, c0 + out_width);
      float* run_sums = sums != nullptr ? sums + t0 / run * g.out_c + c0 : nullptr;
      if (run_sums != nullptr) std::fill(run_sums, run_sums + (c1 - c0), 0.0f);
      k.output_grad(out_w + t0, t1 - t0, c0, c1, z + t0 * p.mr, p.mr, p.a_panel, p.z_stride,
                    run_sums);
    }
  });
}

// V and Z of tiles [b0, b1) by the portable loops (or the forward's input kernel), in lane
// groups of tiles.
template <class W>
void transform_weight_grad_portable(const Geometry& g, const WeightGradPlan& p,
                                    const TransformKernels& kernels, const float* x,
                                    const float* dy, int64_t b0, int64_t b1, float* v, float* z) {
  for_each_lane_group(b0, b1, kLanes, [&](int64_t t0, int64_t t1) {
    if (kernels.input != nullptr && p.nr % kLanes == 0) {
      transform_input_channels<W>(g, x, t0, t1, b0, p.nr, p.b_panel, p.b_panels, v, kernels.input);
    } else {
      transform_input_tiles<W>(
          g, x, t0, t1, depth_panel_store(p.nr, p.b_panel, p.b_panels, t0 - b0), v, kernels.input);
    }
    transform_output_grad_tiles<W>(g, dy, t0, t1,
                                   depth_panel_store(p.mr, p.a_panel, p.a_panels, t0 - b0), z);
  });
}

// dw rows [o0, o0 + rows) x columns [c0, c0 + cols) = G^T u G, with u[e * e_stride + r * ldu +
// c] the (summed) dU of out channel o0 + r and in channel c0 + c.
template <class W>
void weight_grad_to_dw(const Geometry& g, const WeightGradKernels& k, const float* u,
                       int64_t e_stride, int64_t ldu, int64_t o0, int64_t rows, int64_t c0,
                       int64_t cols, float* dw) {
  constexpr int kA = W::kAlpha, kE = kA * kA;
  float in[kE * kLanes], out[9 * kLanes];
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; c += kLanes) {
      const int n = int(std::min<int64_t>(kLanes, cols - c));
      const float* src = u + r * ldu + c;
      float* dst = dw + ((o0 + r) * g.in_c + c0 + c) * 9;
      if (k.weight != nullptr && (n == kLanes || c + kLanes <= ldu)) {
        k.weight(src, e_stride, n, dst);
        continue;
      }
      std::fill(in, in + kE * kLanes, 0.0f);
      for (int e = 0; e < kE; ++e) {
        for (int l = 0; l < n; ++l) in[e * kLanes + l] = src[e * e_stride + l];
      }
      transform_2d<kA, 3, W::weight_adjoint>(in, out);
      for (int l = 0; l < n; ++l) {
        for (int t = 0; t < 9; ++t) dst[l * 9 + t] = out[t * kLanes + l];
      }
    }
  }
}

}  // namespace

// dw = G^T (sum over tiles of (A dy A^T) x (B^T x B)) G per (out, in) pair: per element, one
// GEMM out_c x in_c over the tiles, accumulated block by block. Every block but the last adds
// into dU element by element; the last goes by blocks of (out, in) panels, each through all 36
// elements and then straight into dw, so that it reads its dU while it is in cache (and, with
// one block, dU exists only in those blocks' buffers).
bool conv2d_backward_weight_winograd(const Conv2dShape& s, const float* x, const float* dy,
                                     float* dw, float* dbias) {
  if (!use_winograd(s, kMinChannelsWeightGrad) || s.in_channels == 0 || s.out_channels == 0) {
    return false;
  }
  constexpr int64_t kE = Tile::kAlpha * Tile::kAlpha;
  const Geometry g = forward_geometry(s);
  const KernelConfig& cfg = active_kernel_config();
  const TransformKernels kernels = transform_kernels(cfg);
  const WeightGradKernels grad_kernels = weight_grad_kernels(cfg);
  WeightGradPlan p = weight_grad_plan<Tile>(cfg, g);
  if (grad_kernels.input != nullptr) {  // the portable transforms assume packed elements
    p.z_stride = element_stride(p.z_stride);
    p.v_stride = element_stride(p.v_stride);
  }
  const int64_t mr = p.mr, nr = p.nr;
  const int64_t blocks = (g.tiles + p.block - 1) / p.block;
  ScratchArena::Scope scope;
  float* v = ScratchArena::local().allocate_floats(kE * p.v_stride);
  float* z = ScratchArena::local().allocate_floats(kE * p.z_stride);
  float* du = blocks > 1 ? ScratchArena::local().allocate_floats(kE * p.du_stride) : nullptr;
  const int64_t du_e_stride = p.du_stride;
  WinogradChannelWindow* windows = nullptr;  // the block's, in x then in dy
  // The bias gradient from the dy transform: the sums of each block's runs of tiles, added up
  // in a fixed order afterwards (the same for any number of threads).
  float* run_sums = nullptr;
  const int64_t block_runs =
      (p.block + weight_grad_run(g, p.block) - 1) / weight_grad_run(g, p.block);
  if (grad_kernels.input != nullptr) {
    windows = static_cast<WinogradChannelWindow*>(
        ScratchArena::local().allocate(size_t(2 * p.block) * sizeof(WinogradChannelWindow)));
    if (dbias != nullptr) {
      run_sums = ScratchArena::local().allocate_floats(blocks * block_runs * g.out_c);
    }
  }
  // Tasks of the last block: a_step x b_step panels each, through every element, so that their
  // slices of Z and V are read from cache (they are reused by the task's other panels) while
  // there are still a few tasks per thread.
  ThreadPool& pool = ThreadPool::global();
  const int64_t want_tasks = 4 * int64_t(pool.num_threads());
  int64_t a_step = std::min<int64_t>(p.a_panels, 8), b_step = std::min<int64_t>(p.b_panels, 4);
  auto tasks = [&] {
    return ((p.a_panels + a_step - 1) / a_step) * ((p.b_panels + b_step - 1) / b_step);
  };
  while (tasks() < want_tasks && (a_step > 1 || b_step > 1)) {
    if (a_step >= b_step) {
      a_step = (a_step + 1) / 2;
    } else {
      b_step = (b_step + 1) / 2;
    }
  }
  const int64_t a_blocks = (p.a_panels + a_step - 1) / a_step;
  const int64_t local_floats = du == nullptr ? a_step * b_step * kE * mr * nr : 0;
  // Channels past the last of a panel are never written: they only feed rows and columns of
  // dU past out_c and in_c, which are dropped.
  for (int64_t b0 = 0; b0 < g.tiles; b0 += p.block) {
    const int64_t b1 = std::min(g.tiles, b0 + p.block), n = b1 - b0;
    if (windows != nullptr) {
      weight_grad_windows<Tile>(g, x, dy, b0, b1, windows, windows + p.block);
      float* sums = nullptr;
      if (run_sums != nullptr) {
        sums = run_sums + b0 / p.block * block_runs * g.out_c;
        // A short last block has fewer runs: the rest count as zero.
        std::fill(sums, sums + block_runs * g.out_c, 0.0f);
      }
      transform_weight_grad_block(g, p, grad_kernels, windows, windows + p.block, n, v, z, sums);
    } else {
      transform_weight_grad_portable<Tile>(g, p, kernels, x, dy, b0, b1, v, z);
    }
    // c (row stride ldc) += or = Z panel i times V panel j of element e, over the block's
    // tiles [k0, k0 + kc). Each tile of dU takes the chunks in order, whatever the loops
    // around: the results do not depend on them. The loops keep a V panel's chunk (kc x nr)
    // in L1 while the Z panels (kc x mr) stream past it.
    auto panel_gemm = [&](int64_t e, int64_t i, int64_t j, int64_t k0, float* c, int64_t ldc) {
      const float beta = b0 == 0 && k0 == 0 ? 0.0f : 1.0f;
      cfg.gemm_ukernel(std::min(p.kc, n - k0), z + e * p.z_stride + i * p.a_panel + k0 * mr,
                       v + e * p.v_stride + j * p.b_panel + k0 * nr, c, ldc, 1.0f, beta);
    };
    if (b1 < g.tiles) {
      pool.parallel_for(kE, [&](int64_t e, int) {
        for (int64_t k0 = 0; k0 < n; k0 += p.kc) {
          for (int64_t j = 0; j < p.b_panels; ++j) {
            for (int64_t i = 0; i < p.a_panels; ++i) {
              panel_gemm(e, i, j, k0, du + e * du_e_stride + i * mr * p.ldu + j * nr, p.ldu);
            }
          }
        }
      });
      continue;
    }
    pool.parallel_for(tasks(), [&](int64_t task, int) {
      const int64_t i0 = task % a_blocks * a_step, j0 = task / a_blocks * b_step;
      const int64_t i1 = std::min(p.a_panels, i0 + a_step), j1 = std::min(p.b_panels, j0 + b_step);
      ScratchArena::Scope task_scope;
      float* local =
          local_floats > 0 ? ScratchArena::local().allocate_floats(local_floats) : nullptr;
      // local: per panel pair, kE tiles of mr x nr.
      auto pair_c = [&](int64_t i, int64_t j) {
        return local + ((i - i0) * b_step + (j - j0)) * kE * mr * nr;
      };
      for (int64_t e = 0; e < kE; ++e) {
        for (int64_t k0 = 0; k0 < n; k0 += p.kc) {
          for (int64_t j = j0; j < j1; ++j) {
            for (int64_t i = i0; i < i1; ++i) {
              if (local != nullptr) {
                panel_gemm(e, i, j, k0, pair_c(i, j) + e * mr * nr, nr);
              } else {
                panel_gemm(e, i, j, k0, du + e * du_e_stride + i * mr * p.ldu + j * nr, p.ldu);
              }
            }
          }
        }
      }
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t rows = std::min(mr, g.out_c - i * mr);
        for (int64_t j = j0; j < j1; ++j) {
          const int64_t cols = std::min(nr, g.in_c - j * nr);
          if (local != nullptr) {
            weight_grad_to_dw<Tile>(g, grad_kernels, pair_c(i, j), mr * nr, nr, i * mr, rows,
                                    j * nr, cols, dw);
          } else {
            weight_grad_to_dw<Tile>(g, grad_kernels, du + i * mr * p.ldu + j * nr, du_e_stride,
                                    p.ldu, i * mr, rows, j * nr, cols, dw);
          }
        }
      }
    });
  }
  if (run_sums != nullptr) {
    for (int64_t o = 0; o < g.out_c; ++o) {
      double sum = 0.0;
      for (int64_t r = 0; r < blocks * block_runs; ++r) sum += run_sums[r * g.out_c + o];
      dbias[o] = float(sum);
    }
  } else if (dbias != nullptr) {
    const int64_t plane = g.out_h * g.out_w;
    parallel_range(g.out_c, 1, [&](int64_t o_begin, int64_t o_end) {
      for (int64_t o = o_begin; o < o_end; ++o) {
        double sum = 0.0;
        for (int64_t i = 0; i < g.batch; ++i)
          sum += sum_floats(dy + (i * g.out_c + o) * plane, plane);
        dbias[o] = float(sum);
      }
    });
  }
  return true;
}

}  // namespace convnet
