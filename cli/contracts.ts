/*
 * The modules other parts of the project own, as the CLI sees them. They are
 * imported lazily through importProject() (so `--help` stays instant and one
 * broken module cannot take every command down); these type aliases keep
 * those lazy imports type-checked against the real code.
 */
import type * as server from '../server/index.ts';
import type * as worker from '../worker/index.ts';
import type * as models from '../worker/ml/index.ts';
import type * as reindex from '../worker/reindex.ts';
import type * as samples from '../worker/media/samples.ts';
import type * as webBuild from '../server/web/build.ts';

export type ServerModule = typeof server;
export type WorkerModule = typeof worker;
export type ModelsModule = typeof models;
export type ReindexModule = typeof reindex;
export type SamplesModule = typeof samples;
export type WebBuildModule = typeof webBuild;
