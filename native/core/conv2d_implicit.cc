#include "conv2d_implicit.h"

#include <algorithm>
#include <cstring>

#include "indirect_gemm.h"
#include "scratch_arena.h"
#include "thread_pool.h"

namespace convnet {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Packed dy^T of a chunk of images stays within about this many bytes (L2-sized), so that the
// backward-weight tiles stream it from cache.
constexpr int64_t kWeightGradChunkBytes = 512 * 1024;

struct Geometry {
  int64_t cg, og;  // channels per group, in and out
  int64_t k;       // taps per output channel: cg * KH * KW
  int64_t p;       // output pixels per plane
  int64_t hp, wp;  // input plane as read: padded when the convolution pads
  int64_t plane;   // hp * wp
  bool padded;
};

Geometry geometry(const Conv2dShape& s) {
  Geometry g;
  g.cg = s.in_channels / s.groups;
  g.og = s.out_channels / s.groups;
  g.k = g.cg * s.kernel_h * s.kernel_w;
  g.p = s.out_height * s.out_width;
  g.padded = s.pad_h > 0 || s.pad_w > 0;
  g.hp = s.in_height + 2 * s.pad_h;
  g.wp = s.in_width + 2 * s.pad_w;
  g.plane = g.hp * g.wp;
  return g;
}

// taps[(c * KH + kh) * KW + kw]: where tap (c, kh, kw) sits relative to a receptive field's
// first element, in an input of planes `plane` apart and rows `row` apart.
void tap_offsets(const Conv2dShape& s, int64_t cg, int64_t plane, int64_t row, int64_t* taps) {
  for (int64_t c = 0; c < cg; ++c) {
    for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
        *taps++ = c * plane + kh * s.dilation_h * row + kw * s.dilation_w;
      }
    }
  }
}

// Where output pixel p's receptive field starts, relative to its input plane.
inline int64_t field_start(const Conv2dShape& s, int64_t row, int64_t p) {
  const int64_t oh = p / s.out_width, ow = p % s.out_width;
  return oh * s.stride_h * row + ow * s.stride_w;
}

// Copies `channels` planes of one image into dst with a zero border of the padding.
void pad_planes(const Conv2dShape& s, const Geometry& g, int64_t channels, const float* src,
                int64_t src_plane, float* dst) {
  const int64_t h = s.in_height, w = s.in_width;
  for (int64_t c = 0; c < channels; ++c) {
    float* d = dst + c * g.plane;
    const float* x = src + c * src_plane;
    std::fill(d, d + s.pad_h * g.wp, 0.0f);
    for (int64_t r = 0; r < h; ++r) {
      float* dr = d + (r + s.pad_h) * g.wp;
      std::fill(dr, dr + s.pad_w, 0.0f);
      std::memcpy(dr + s.pad_w, x + r * w, size_t(w) * sizeof(float));
      std::fill(dr + s.pad_w + w, dr + g.wp, 0.0f);
    }
    std::fill(d + (s.pad_h + h) * g.wp, d + g.plane, 0.0f);
  }
}

// Relative cost of the two forms (1 = every multiply-add useful): tile rounding of both operands,
// plus, for the indirect form, storing each output transposed (about 16 multiply-adds' worth of
// time per output for a 6x16 tile, spread over its K taps).
double indirect_cost(const KernelConfig& cfg, const Geometry& g) {
  const double rows = double(ceil_div(g.p, cfg.mr) * cfg.mr) / double(g.p);
  const double cols = double(ceil_div(g.og, cfg.nr) * cfg.nr) / double(g.og);
  return rows * cols * (1.0 + double(cfg.nr) / double(g.k));
}

double rows_cost(const KernelConfig& cfg, const Conv2dShape& s, const Geometry& g) {
  const double rows = double(ceil_div(g.og, cfg.mr) * cfg.mr) / double(g.og);
  const double cols = double(ceil_div(s.out_width, cfg.nr) * cfg.nr) / double(s.out_width);
  return rows * cols;
}

void forward_indirect(const KernelConfig& cfg, const Conv2dShape& s, const float* x, const float* w,
                      const float* bias, float* y) {
  const Geometry g = geometry(s);
  const int64_t mr = cfg.mr, nr = cfg.nr;
  const int64_t panels = ceil_div(g.og, nr);
  const int64_t panel_floats = g.k * nr;
  const int64_t in_plane = s.in_height * s.in_width;
  // Rows are read from the padded copy, or from x itself.
  const int64_t row = g.padded ? g.wp : s.in_width;

  ScratchArena::Scope scope;
  ScratchArena& arena = ScratchArena::local();
  int64_t* taps = static_cast<int64_t*>(arena.allocate(size_t(g.k) * sizeof(int64_t)));
  tap_offsets(s, g.cg, g.padded ? g.plane : in_plane, row, taps);
  // B = W^T per group: panel q holds output channels [q * nr, q * nr + nr) of the group.
  float* bp = arena.allocate_floats(s.groups * panels * panel_floats);
  parallel_range(s.groups * panels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t grp = t / panels, q = t % panels;
      pack_transposed_panel(nr, g.k, std::min(nr, g.og - q * nr), w + (grp * g.og + q * nr) * g.k,
                            g.k, bp + t * panel_floats);
    }
  });

  // One task per (image, group), split further over pixel tiles when there are too few of them.
  ThreadPool& pool = ThreadPool::global();
  const int64_t units = s.batch * s.groups;
  const int64_t tiles = ceil_div(g.p, mr);
  const int64_t threads = pool.participants(units * tiles);
  const int64_t splits =
      units >= threads ? 1 : std::min<int64_t>(tiles, ceil_div(2 * threads, units));
  pool.parallel_for(units * splits, [&](int64_t task, int) {
    const int64_t unit = task / splits, split = task % splits;
    const int64_t n = unit / s.groups, grp = unit % s.groups;
    ScratchArena::Scope task_scope;
    ScratchArena& local = ScratchArena::local();
    const float* src = x + (n * s.in_channels + grp * g.cg) * in_plane;
    if (g.padded) {
      float* xp = local.allocate_floats(g.cg * g.plane);
      pad_planes(s, g, g.cg, src, in_plane, xp);
      src = xp;
    }
    float* tile = local.allocate_floats(mr * nr);
    IndirectTile a(cfg, g.k, taps, local.allocate_floats(IndirectTile::scratch_floats(cfg, g.k)));
    const float* rows[kMaxMr];
    const float* b_group = bp + grp * panels * panel_floats;
    float* y_group = y + (n * s.out_channels + grp * g.og) * g.p;
    for (int64_t ti = tiles * split / splits; ti < tiles * (split + 1) / splits; ++ti) {
      const int64_t p0 = ti * mr, count = std::min(mr, g.p - p0);
      // Rows past the last pixel repeat it; their results are dropped.
      for (int64_t i = 0; i < mr; ++i) {
        rows[i] = src + field_start(s, row, p0 + std::min(i, count - 1));
      }
      a.set_rows(rows);
      for (int64_t q = 0; q < panels; ++q) {
        a.multiply(b_group + q * panel_floats, tile, nr, 1.0f, 0.0f);
        const int64_t cols = std::min(nr, g.og - q * nr);
        for (int64_t j = 0; j < cols; ++j) {
          const int64_t o = q * nr + j;
          const float b = bias != nullptr ? bias[grp * g.og + o] : 0.0f;
          float* yo = y_group + o * g.p + p0;
          for (int64_t i = 0; i < count; ++i) yo[i] = tile[i * nr + j] + b;
        }
      }
    }
  });
}

// The weight gradient of group grp over chunks of images, in the pieces both parallel schemes
// of backward_weight share. Buffers are sized for `chunk` images.
class WeightGradChunks {
 public:
  WeightGradChunks(const KernelConfig& cfg, const Conv2dShape& s, const Geometry& g,
                   const int64_t* taps, int64_t chunk, ScratchArena& arena)
      : cfg_(cfg), s_(s), g_(g), taps_(taps), chunk_(chunk) {
    panels_ = ceil_div(g.og, cfg.nr);
    in_plane_ = s.in_height * s.in_width;
    const int64_t row = g.padded ? g.wp : s.in_width;
    // The input of image n of a chunk starts image_stride floats after image n - 1.
    const int64_t image_stride = g.padded ? g.cg * g.plane : s.in_channels * in_plane_;
    fields_ = static_cast<int64_t*>(arena.allocate(size_t(chunk * g.p) * sizeof(int64_t)));
    for (int64_t nl = 0; nl < chunk; ++nl) {
      for (int64_t p = 0; p < g.p; ++p) {
        fields_[nl * g.p + p] = nl * image_stride + field_start(s, row, p);
      }
    }
    xp_ = g.padded ? arena.allocate_floats(chunk * g.cg * g.plane) : nullptr;
    bp_ = arena.allocate_floats(panels_ * chunk * g.p * cfg.nr);
  }

  int64_t k_tiles() const { return ceil_div(g_.k, cfg_.mr); }

  // Packs image n0 + nl of the chunk starting at n0: its dy^T panels (and its dy plane sums into
  // plane_sums[0 .. og) when not null) and, when padding, its input.
  void pack_image(int64_t grp, int64_t n0, int64_t nl, float* plane_sums) const {
    const int64_t n = n0 + nl, nr = cfg_.nr, depth_max = chunk_ * g_.p;
    for (int64_t q = 0; q < panels_; ++q) {
      pack_transposed_panel(nr, g_.p, std::min(nr, g_.og - q * nr),
                            dy_ + (n * s_.out_channels + grp * g_.og + q * nr) * g_.p, g_.p,
                            bp_ + (q * depth_max + nl * g_.p) * nr,
                            plane_sums != nullptr ? plane_sums + q * nr : nullptr);
    }
    if (xp_ != nullptr) {
      pad_planes(s_, g_, g_.cg, x_ + (n * s_.in_channels + grp * g_.cg) * in_plane_, in_plane_,
                 xp_ + nl * g_.cg * g_.plane);
    }
  }

  // Taps [kt * mr, + mr) of the packed chunk (n0, nb images) times its dy^T, all panels, written
  // (first) or added into out ([og][k] of the group, row stride k).
  void multiply_tile(int64_t grp, int64_t n0, int64_t nb, int64_t kt, bool first,
                     float* out) const {
    const int64_t mr = cfg_.mr, nr = cfg_.nr, depth = nb * g_.p, depth_max = chunk_ * g_.p;
    ScratchArena::Scope scope;
    ScratchArena& local = ScratchArena::local();
    float* tile = local.allocate_floats(mr * nr);
    IndirectTile a(cfg_, depth, fields_,
                   local.allocate_floats(IndirectTile::scratch_floats(cfg_, depth)));
    const float* src = xp_ != nullptr ? xp_ : x_ + (n0 * s_.in_channels + grp * g_.cg) * in_plane_;
    const int64_t k0 = kt * mr, count = std::min(mr, g_.k - k0);
    const float* rows[kMaxMr];
    for (int64_t i = 0; i < mr; ++i) rows[i] = src + taps_[k0 + std::min(i, count - 1)];
    a.set_rows(rows);
    for (int64_t q = 0; q < panels_; ++q) {
      a.multiply(bp_ + q * depth_max * nr, tile, nr, 1.0f, 0.0f);
      const int64_t cols = std::min(nr, g_.og - q * nr);
      for (int64_t j = 0; j < cols; ++j) {
        float* o = out + (q * nr + j) * g_.k + k0;
        if (first) {
          for (int64_t i = 0; i < count; ++i) o[i] = tile[i * nr + j];
        } else {
          for (int64_t i = 0; i < count; ++i) o[i] += tile[i * nr + j];
        }
      }
    }
  }

  void set_inputs(const float* x, const float* dy) {
    x_ = x;
    dy_ = dy;
  }

 private:
  const KernelConfig& cfg_;
  const Conv2dShape& s_;
  const Geometry& g_;
  const int64_t* taps_;
  int64_t chunk_, panels_ = 0, in_plane_ = 0;
  int64_t* fields_ = nullptr;
  float* xp_ = nullptr;
  float* bp_ = nullptr;
  const float* x_ = nullptr;
  const float* dy_ = nullptr;
};

// Partial sums the image-parallel scheme may keep (floats, all partials together).
constexpr int64_t kMaxWeightGradPartialFloats = int64_t{4} << 20;
// Image ranges of the image-parallel scheme: fixed, so the result does not depend on the thread
// count; enough of them to balance two to a few threads.
constexpr int64_t kMaxWeightGradParts = 8;

void backward_weight(const KernelConfig& cfg, const Conv2dShape& s, const float* x, const float* dy,
                     float* dw, float* dbias) {
  const Geometry g = geometry(s);
  const int64_t panels = ceil_div(g.og, cfg.nr);
  const int64_t in_plane = s.in_height * s.in_width;
  // Images per chunk: their packed dy^T stays within kWeightGradChunkBytes.
  const int64_t per_image = std::max<int64_t>(1, panels * cfg.nr * g.p * int64_t(sizeof(float)));
  const int64_t chunk_cap = std::clamp<int64_t>(kWeightGradChunkBytes / per_image, 1, s.batch);
  const int64_t w_size = s.out_channels * g.k;

  ScratchArena::Scope scope;
  ScratchArena& arena = ScratchArena::local();
  int64_t* taps = static_cast<int64_t*>(arena.allocate(size_t(g.k) * sizeof(int64_t)));
  tap_offsets(s, g.cg, g.padded ? g.plane : in_plane, g.padded ? g.wp : s.in_width, taps);
  ThreadPool& pool = ThreadPool::global();

  // A power of two, so that the parts split evenly over 2 or 4 threads (7 parts on 2 threads
  // would leave one idle for a seventh of the time).
  const int64_t max_parts = std::min<int64_t>(
      {s.batch, kMaxWeightGradParts, kMaxWeightGradPartialFloats / std::max<int64_t>(w_size, 1)});
  int64_t parts = 1;
  while (parts * 2 <= max_parts) parts *= 2;
  if (parts >= 2) {
    // Image-parallel: each part sums the gradient of its own images, in chunks, into its own
    // partial; the partials are then added in part order.
    float* partial = arena.allocate_floats(parts * w_size);
    float* part_sums = dbias != nullptr ? arena.allocate_floats(parts * s.out_channels) : nullptr;
    pool.parallel_for(parts, [&](int64_t part, int) {
      const int64_t n_begin = s.batch * part / parts, n_end = s.batch * (part + 1) / parts;
      const int64_t chunk = std::min(chunk_cap, n_end - n_begin);
      ScratchArena::Scope task_scope;
      ScratchArena& local = ScratchArena::local();
      WeightGradChunks w(cfg, s, g, taps, chunk, local);
      w.set_inputs(x, dy);
      float* plane_sums = part_sums != nullptr ? local.allocate_floats(g.og) : nullptr;
      for (int64_t grp = 0; grp < s.groups; ++grp) {
        float* out = partial + part * w_size + grp * g.og * g.k;
        float* sums =
            part_sums != nullptr ? part_sums + part * s.out_channels + grp * g.og : nullptr;
        if (sums != nullptr) std::fill(sums, sums + g.og, 0.0f);
        for (int64_t n0 = n_begin; n0 < n_end; n0 += chunk) {
          const int64_t nb = std::min(chunk, n_end - n0);
          for (int64_t nl = 0; nl < nb; ++nl) {
            w.pack_image(grp, n0, nl, plane_sums);
            if (sums != nullptr) {
              for (int64_t o = 0; o < g.og; ++o) sums[o] += plane_sums[o];
            }
          }
          for (int64_t kt = 0; kt < w.k_tiles(); ++kt) {
            w.multiply_tile(grp, n0, nb, kt, n0 == n_begin, out);
          }
        }
      }
    });
    parallel_range(w_size, 4096, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        float sum = 0.0f;
        for (int64_t part = 0; part < parts; ++part) sum += partial[part * w_size + i];
        dw[i] = sum;
      }
    });
    if (dbias != nullptr) {
      for (int64_t o = 0; o < s.out_channels; ++o) {
        double sum = 0.0;
        for (int64_t part = 0; part < parts; ++part) sum += part_sums[part * s.out_channels + o];
        dbias[o] = float(sum);
      }
    }
    return;
  }

  // Tile-parallel (one image, or a weight too large for per-part copies): chunk by chunk, the
  // images are packed in parallel, then the tap tiles are multiplied in parallel.
  const int64_t chunk = chunk_cap;
  WeightGradChunks w(cfg, s, g, taps, chunk, arena);
  w.set_inputs(x, dy);
  float* plane_sums = dbias != nullptr ? arena.allocate_floats(chunk * g.og) : nullptr;
  double* bias_sums =
      dbias != nullptr
          ? static_cast<double*>(arena.allocate(size_t(s.out_channels) * sizeof(double)))
          : nullptr;
  if (bias_sums != nullptr) std::fill(bias_sums, bias_sums + s.out_channels, 0.0);
  for (int64_t grp = 0; grp < s.groups; ++grp) {
    for (int64_t n0 = 0; n0 < s.batch; n0 += chunk) {
      const int64_t nb = std::min(chunk, s.batch - n0);
      pool.parallel_for(nb, [&](int64_t nl, int) {
        w.pack_image(grp, n0, nl, plane_sums != nullptr ? plane_sums + nl * g.og : nullptr);
      });
      if (bias_sums != nullptr) {
        for (int64_t nl = 0; nl < nb; ++nl) {
          for (int64_t o = 0; o < g.og; ++o) bias_sums[grp * g.og + o] += plane_sums[nl * g.og + o];
        }
      }
      pool.parallel_for(w.k_tiles(), [&](int64_t kt, int) {
        w.multiply_tile(grp, n0, nb, kt, n0 == 0, dw + grp * g.og * g.k);
      });
    }
  }
  if (dbias != nullptr) {
    for (int64_t o = 0; o < s.out_channels; ++o) dbias[o] = float(bias_sums[o]);
  }
}

void forward_rows(const KernelConfig& cfg, const Conv2dShape& s, const float* x, const float* w,
                  const float* bias, float* y) {
  const Geometry g = geometry(s);
  const int64_t mr = cfg.mr, nr = cfg.nr;
  const int64_t panels = ceil_div(g.og, mr);
  const int64_t panel_floats = g.k * mr;
  const int64_t in_plane = s.in_height * s.in_width;
  // The last panel and the last tile of a row overlap their predecessors (when there are enough
  // channels and pixels), so that every tile is full and stored straight into y; the overlap is
  // computed twice, to the same values. Full tiles also never read past an input row.
  const auto panel_start = [&](int64_t q) {
    return g.og >= mr ? std::min(q * mr, g.og - mr) : q * mr;
  };
  const bool full_tiles = s.out_width >= nr;
  const int64_t tiles = ceil_div(s.out_width, nr);
  const auto tile_start = [&](int64_t t) {
    return full_tiles ? std::min(t * nr, s.out_width - nr) : t * nr;
  };
  // x is read in place unless it needs padding, or a partial tile would read past its end.
  const bool copy = g.padded || !full_tiles;
  const int64_t plane = copy ? g.plane : in_plane;
  const int64_t row_stride = copy ? g.wp : s.in_width;

  ScratchArena::Scope scope;
  ScratchArena& arena = ScratchArena::local();
  int64_t* taps = static_cast<int64_t*>(arena.allocate(size_t(g.k) * sizeof(int64_t)));
  tap_offsets(s, g.cg, plane, row_stride, taps);
  // A = W per group: panel q holds output channels [panel_start(q), + mr) of the group.
  float* ap = arena.allocate_floats(s.groups * panels * panel_floats);
  parallel_range(s.groups * panels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t grp = t / panels, q = t % panels, o0 = panel_start(q);
      pack_transposed_panel(mr, g.k, std::min(mr, g.og - o0), w + (grp * g.og + o0) * g.k, g.k,
                            ap + t * panel_floats);
    }
  });

  // One task per (image, group), split further over output rows when there are too few of them.
  ThreadPool& pool = ThreadPool::global();
  const int64_t units = s.batch * s.groups;
  const int64_t threads = pool.participants(units * s.out_height);
  const int64_t splits =
      units >= threads ? 1 : std::min<int64_t>(s.out_height, ceil_div(2 * threads, units));
  pool.parallel_for(units * splits, [&](int64_t task, int) {
    const int64_t unit = task / splits, split = task % splits;
    const int64_t n = unit / s.groups, grp = unit % s.groups;
    ScratchArena::Scope task_scope;
    ScratchArena& local = ScratchArena::local();
    const float* src = x + (n * s.in_channels + grp * g.cg) * in_plane;
    if (copy) {
      // Slack past the last plane: a partial tile reads up to nr - 1 floats beyond its row.
      float* xp = local.allocate_floats(g.cg * g.plane + nr);
      pad_planes(s, g, g.cg, src, in_plane, xp);
      std::fill(xp + g.cg * g.plane, xp + g.cg * g.plane + nr, 0.0f);
      src = xp;
    }
    float* tile = local.allocate_floats(mr * nr);
    RowTile b(cfg, g.k, taps, local.allocate_floats(RowTile::scratch_floats(cfg, g.k)));
    const float* a_group = ap + grp * panels * panel_floats;
    float* y_group = y + (n * s.out_channels + grp * g.og) * g.p;
    const int64_t oh_begin = s.out_height * split / splits;
    const int64_t oh_end = s.out_height * (split + 1) / splits;
    for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
      const float* row = src + oh * s.stride_h * row_stride;
      float* y_row = y_group + oh * s.out_width;
      for (int64_t t = 0; t < tiles; ++t) {
        const int64_t ow0 = tile_start(t), cols = std::min(nr, s.out_width - ow0);
        b.set_base(row + ow0);
        for (int64_t q = 0; q < panels; ++q) {
          const int64_t o0 = panel_start(q), rows = std::min(mr, g.og - o0);
          float* c = y_row + o0 * g.p + ow0;
          if (rows == mr && cols == nr) {
            b.multiply(a_group + q * panel_floats, c, g.p, 1.0f, 0.0f);
            continue;
          }
          b.multiply(a_group + q * panel_floats, tile, nr, 1.0f, 0.0f);
          for (int64_t i = 0; i < rows; ++i) {
            for (int64_t j = 0; j < cols; ++j) c[i * g.p + j] = tile[i * nr + j];
          }
        }
      }
    }
    if (bias != nullptr) {
      for (int64_t o = 0; o < g.og; ++o) {
        const float bo = bias[grp * g.og + o];
        float* yo = y_group + o * g.p;
        for (int64_t i = oh_begin * s.out_width; i < oh_end * s.out_width; ++i) yo[i] += bo;
      }
    }
  });
}

// Backward input as col = W^T * dy, a tile at a time, each tile added into dx where im2col read
// it from (col2im): rows are taps (packed weights, once per call), columns nr consecutive output
// pixels whose dy runs are read in place (row form). Any stride; no work on padding. Each tile
// then costs a scatter of mr * nr adds, about 80 multiply-adds' worth per column of depth, so it
// suits many output channels per group (the depth).
double scatter_cost(const KernelConfig& cfg, const Geometry& g) {
  const double rows = double(ceil_div(g.k, cfg.mr) * cfg.mr) / double(g.k);
  const double cols = double(ceil_div(g.p, cfg.nr) * cfg.nr) / double(g.p);
  return rows * cols * (1.0 + 80.0 / double(g.og));
}

void backward_input_scatter(const KernelConfig& cfg, const Conv2dShape& s, const float* dy,
                            const float* w, float* dx) {
  const Geometry g = geometry(s);
  const int64_t mr = cfg.mr, nr = cfg.nr;
  const int64_t k_tiles = ceil_div(g.k, mr);
  const int64_t panel_floats = g.og * mr;
  const int64_t in_plane = s.in_height * s.in_width;
  const int64_t khw = s.kernel_h * s.kernel_w;

  ScratchArena::Scope scope;
  ScratchArena& arena = ScratchArena::local();
  // A = W^T per group and tap tile: a[o * mr + i] = w[o, tap k0 + i] (0 past the last tap).
  float* ap = arena.allocate_floats(s.groups * k_tiles * panel_floats);
  parallel_range(s.groups * k_tiles, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t grp = t / k_tiles, k0 = (t % k_tiles) * mr;
      const int64_t count = std::min(mr, g.k - k0);
      float* a = ap + t * panel_floats;
      for (int64_t o = 0; o < g.og; ++o) {
        const float* src = w + (grp * g.og + o) * g.k + k0;
        std::copy(src, src + count, a + o * mr);
        std::fill(a + o * mr + count, a + (o + 1) * mr, 0.0f);
      }
    }
  });
  // Tap k reads plane tap[3k] at (oh * stride_h + tap[3k + 1], ow * stride_w + tap[3k + 2]).
  int64_t* tap = static_cast<int64_t*>(arena.allocate(size_t(3 * g.k) * sizeof(int64_t)));
  for (int64_t k = 0; k < g.k; ++k) {
    const int64_t c = k / khw, kh = (k % khw) / s.kernel_w, kw = k % s.kernel_w;
    tap[3 * k] = c;
    tap[3 * k + 1] = kh * s.dilation_h - s.pad_h;
    tap[3 * k + 2] = kw * s.dilation_w - s.pad_w;
  }
  // B rows: output channel o of the group's dy planes.
  int64_t* rows_at = static_cast<int64_t*>(arena.allocate(size_t(g.og) * sizeof(int64_t)));
  for (int64_t o = 0; o < g.og; ++o) rows_at[o] = o * g.p;

  const int64_t p_tiles = ceil_div(g.p, nr);
  ThreadPool::global().parallel_for(s.batch * s.groups, [&](int64_t unit, int) {
    const int64_t n = unit / s.groups, grp = unit % s.groups;
    ScratchArena::Scope task_scope;
    ScratchArena& local = ScratchArena::local();
    float* tile = local.allocate_floats(mr * nr);
    float* partial_b = local.allocate_floats(g.og * nr);
    RowTile b(cfg, g.og, rows_at, local.allocate_floats(RowTile::scratch_floats(cfg, g.og)));
    float* dxg = dx + (n * s.in_channels + grp * g.cg) * in_plane;
    std::fill(dxg, dxg + g.cg * in_plane, 0.0f);
    const float* dyg = dy + (n * s.out_channels + grp * g.og) * g.p;
    const float* a_group = ap + grp * k_tiles * panel_floats;
    for (int64_t pt = 0; pt < p_tiles; ++pt) {
      const int64_t p0 = pt * nr, cols = std::min(nr, g.p - p0);
      // A partial tile is packed: reading nr floats from its last row would run past dy.
      if (cols == nr) {
        b.set_base(dyg + p0);
      } else {
        for (int64_t o = 0; o < g.og; ++o) {
          const float* src = dyg + o * g.p + p0;
          std::copy(src, src + cols, partial_b + o * nr);
          std::fill(partial_b + o * nr + cols, partial_b + (o + 1) * nr, 0.0f);
        }
      }
      for (int64_t kt = 0; kt < k_tiles; ++kt) {
        const float* a = a_group + kt * panel_floats;
        if (cols == nr) {
          b.multiply(a, tile, nr, 1.0f, 0.0f);
        } else {
          cfg.gemm_ukernel(g.og, a, partial_b, tile, nr, 1.0f, 0.0f);
        }
        const int64_t k0 = kt * mr, count = std::min(mr, g.k - k0);
        for (int64_t i = 0; i < count; ++i) {
          const int64_t* t = tap + 3 * (k0 + i);
          float* plane = dxg + t[0] * in_plane;
          const float* row = tile + i * nr;
          // The tile's pixels, one output row at a time: one bounds test per row and per tap.
          for (int64_t j = 0; j < cols;) {
            const int64_t p = p0 + j, oh = p / s.out_width, ow0 = p % s.out_width;
            const int64_t run = std::min(cols - j, s.out_width - ow0);
            const int64_t ih = oh * s.stride_h + t[1];
            if (ih >= 0 && ih < s.in_height) {
              // ow in [lo, hi) puts iw = ow * stride + t[2] inside [0, in_width).
              const int64_t lo = std::max(ow0, ceil_div(std::max<int64_t>(-t[2], 0), s.stride_w));
              const int64_t hi = std::min(
                  ow0 + run,
                  t[2] >= s.in_width ? int64_t{0} : (s.in_width - 1 - t[2]) / s.stride_w + 1);
              float* out = plane + ih * s.in_width + t[2];
              const float* src = row + j - ow0;
              for (int64_t ow = lo; ow < hi; ++ow) out[ow * s.stride_w] += src[ow];
            }
            j += run;
          }
        }
      }
    }
  });
}

}  // namespace

bool conv2d_forward_implicit(const KernelConfig& cfg, const Conv2dShape& s, const float* x,
                             const float* w, const float* bias, float* y) {
  if (s.batch == 0 || s.in_channels == 0 || s.out_channels == 0) return false;
  const Geometry g = geometry(s);
  const double indirect = indirect_cost(cfg, g);
  const double rows = s.stride_w == 1 ? rows_cost(cfg, s, g) : 1e9;
  // Beyond this, im2col + GEMM (which tiles output channels by mr) wastes less.
  constexpr double kMaxCost = 1.6;
  if (std::min(indirect, rows) > kMaxCost) return false;
  if (rows < indirect) {
    forward_rows(cfg, s, x, w, bias, y);
  } else {
    forward_indirect(cfg, s, x, w, bias, y);
  }
  return true;
}

bool conv2d_backward_input_implicit(const KernelConfig& cfg, const Conv2dShape& s, const float* dy,
                                    const float* w, float* dx) {
  if (s.batch == 0 || s.in_channels == 0 || s.out_channels == 0) return false;
  constexpr double kMaxCost = 1.6;
  if (s.stride_h != 1 || s.stride_w != 1 || s.pad_h > (s.kernel_h - 1) * s.dilation_h ||
      s.pad_w > (s.kernel_w - 1) * s.dilation_w) {
    if (scatter_cost(cfg, geometry(s)) > kMaxCost) return false;
    backward_input_scatter(cfg, s, dy, w, dx);
    return true;
  }
  // dx[c, h, w] = sum over o, kh, kw of dy[o, h + pad - kh * dil, ...] * w[o, c, kh, kw]: a
  // stride-1 convolution of dy padded by (K - 1) * dil - pad, with w'[c, o, kh', kw'] =
  // w[o, c, K - 1 - kh', K - 1 - kw'] (per group).
  Conv2dShape t = s;
  t.in_channels = s.out_channels;
  t.in_height = s.out_height;
  t.in_width = s.out_width;
  t.out_channels = s.in_channels;
  t.out_height = s.in_height;
  t.out_width = s.in_width;
  t.pad_h = (s.kernel_h - 1) * s.dilation_h - s.pad_h;
  t.pad_w = (s.kernel_w - 1) * s.dilation_w - s.pad_w;
  const Geometry g = geometry(t);
  const double indirect = indirect_cost(cfg, g);
  const double rows = rows_cost(cfg, t, g);
  if (std::min(indirect, rows) > kMaxCost) {
    if (scatter_cost(cfg, geometry(s)) > kMaxCost) return false;
    backward_input_scatter(cfg, s, dy, w, dx);
    return true;
  }

  const int64_t cg = s.in_channels / s.groups, og = s.out_channels / s.groups;
  const int64_t khw = s.kernel_h * s.kernel_w;
  ScratchArena::Scope scope;
  float* wt = ScratchArena::local().allocate_floats(s.out_channels * cg * khw);
  for (int64_t grp = 0; grp < s.groups; ++grp) {
    for (int64_t o = 0; o < og; ++o) {
      for (int64_t c = 0; c < cg; ++c) {
        const float* src = w + ((grp * og + o) * cg + c) * khw;
        float* dst = wt + ((grp * cg + c) * og + o) * khw;
        for (int64_t k = 0; k < khw; ++k) dst[k] = src[khw - 1 - k];
      }
    }
  }
  if (rows < indirect) {
    forward_rows(cfg, t, dy, wt, nullptr, dx);
  } else {
    forward_indirect(cfg, t, dy, wt, nullptr, dx);
  }
  return true;
}

bool conv2d_backward_weight_implicit(const KernelConfig& cfg, const Conv2dShape& s, const float* x,
                                     const float* dy, float* dw, float* dbias) {
  if (s.batch == 0 || s.in_channels == 0 || s.out_channels == 0) return false;
  const Geometry g = geometry(s);
  // Rows are taps, columns output channels: the same rounding as the indirect forward form.
  const double cost = double(ceil_div(g.k, cfg.mr) * cfg.mr) / double(g.k) *
                      double(ceil_div(g.og, cfg.nr) * cfg.nr) / double(g.og);
  if (cost > 1.6) return false;
  backward_weight(cfg, s, x, dy, dw, dbias);
  return true;
}

}  // namespace convnet
