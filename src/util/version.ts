// eslint-disable-next-line @typescript-eslint/no-var-requires
export const PIPELINE_VERSION: string = require('../../../package.json').version;
