/*
 * The modules other parts of the project own, as the CLI sees them. They are
 * imported lazily through importProject() (so `--help` stays instant and one
 * broken module cannot take every command down); these type aliases keep
 * those lazy imports type-checked against the real code.
 */
export type ServerModule = typeof import('../server/index.ts');
export type WorkerModule = typeof import('../worker/index.ts');
export type ModelsModule = typeof import('../worker/ml/index.ts');
export type ReindexModule = typeof import('../worker/reindex.ts');
export type SamplesModule = typeof import('../worker/media/samples.ts');
