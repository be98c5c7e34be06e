// The studio's API calls with the designer token (shared/api.js).

import { ApiError, client } from '/shared/api.js';

export const REPLACE_TOKEN_QUESTION =
  '这个链接带有另一个设计人员凭证。要替换已保存的凭证吗？';

export { ApiError };
export const { api, loadToken, saveToken } = client('homefin.studio.token', REPLACE_TOKEN_QUESTION);
