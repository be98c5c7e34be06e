// The studio's API calls with the designer token (shared/api.js).

import { ApiError, client } from '/shared/api.js';

export { ApiError };
export const { api, loadToken, saveToken } = client('homefin.studio.token');
