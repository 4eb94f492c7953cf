/**
 * Parameter and multiply-add counts of a network walked layer by layer on paper, without building
 * it: building ResNeXt-101 means drawing 88 million random weights, which takes seconds, while
 * `convnet models` lists the whole zoo at once. The counts follow countMacs (lib/models/flops.ts):
 * convolutions and linear layers only, per image, biases not counted as multiply-adds. The tests
 * check every builder's tally against its built model.
 */
import { conv2dGeometry } from '../backend/geometry.js';

export interface ArchStats {
  /** Trainable parameters. */
  params: number;
  /** Multiply-adds of one forward pass per image. */
  macs: number;
}

/** A running tally along one path of a network, with the current feature-map shape. */
export class ArchTally implements ArchStats {
  params = 0;
  macs = 0;

  constructor(
    public channels: number,
    public height: number,
    public width: number,
  ) {}

  /** A tally of a side path (a shortcut) starting at the current shape; merge() adds it back. */
  branch(): ArchTally {
    return new ArchTally(this.channels, this.height, this.width);
  }

  /** Adds a side path's counts (its output shape must be the one of this path, not checked here). */
  merge(other: ArchStats): this {
    this.params += other.params;
    this.macs += other.macs;
    return this;
  }

  conv(
    outChannels: number,
    kernel: number,
    opts: { stride?: number; padding?: number; groups?: number; bias?: boolean } = {},
  ): this {
    const groups = opts.groups ?? 1;
    const g = conv2dGeometry(
      'ArchTally.conv',
      [1, this.channels, this.height, this.width],
      [outChannels, this.channels / groups, kernel, kernel],
      { stride: opts.stride ?? 1, padding: opts.padding ?? 0, groups },
    );
    const perOutput = (this.channels / groups) * kernel * kernel;
    this.params += outChannels * perOutput + (opts.bias === true ? outChannels : 0);
    this.macs += outChannels * g.outHeight * g.outWidth * perOutput;
    this.channels = outChannels;
    this.height = g.outHeight;
    this.width = g.outWidth;
    return this;
  }

  /** A batch norm over the current channels: weight and bias. */
  norm(): this {
    this.params += 2 * this.channels;
    return this;
  }

  /** A max or average pool (no parameters, no multiply-adds counted). */
  pool(kernel: number, stride: number, padding = 0): this {
    this.height = Math.floor((this.height + 2 * padding - kernel) / stride) + 1;
    this.width = Math.floor((this.width + 2 * padding - kernel) / stride) + 1;
    return this;
  }

  /** Global average pooling: [C, H, W] -> [C, 1, 1]. */
  globalPool(): this {
    this.height = 1;
    this.width = 1;
    return this;
  }

  /** A linear layer with bias on the flattened features. */
  linear(outFeatures: number): this {
    const inFeatures = this.channels * this.height * this.width;
    this.params += inFeatures * outFeatures + outFeatures;
    this.macs += inFeatures * outFeatures;
    this.channels = outFeatures;
    this.height = 1;
    this.width = 1;
    return this;
  }

  /** Concatenation along channels with a path ending at the same height and width. */
  concatChannels(channels: number): this {
    this.channels += channels;
    return this;
  }
}
