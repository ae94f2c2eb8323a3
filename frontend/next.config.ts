import type { NextConfig } from 'next';

// A static export: the FastAPI process serves `out/` at `/` on the same origin as /api/v1.
// trailingSlash makes every page a folder with index.html, which StaticFiles(html=True) serves.
const config: NextConfig = {
  output: 'export',
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  // Dev only: `FILAMENT_API_URL=http://127.0.0.1:8000 npm run dev` proxies the API.
  ...(process.env.NODE_ENV === 'development' && process.env.FILAMENT_API_URL
    ? {
        async rewrites() {
          return [{ source: '/api/:path*', destination: `${process.env.FILAMENT_API_URL}/api/:path*` }];
        },
      }
    : {}),
};

export default config;
