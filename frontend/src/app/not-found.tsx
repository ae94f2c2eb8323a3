import Link from 'next/link';

export default function NotFound() {
  return (
    <div className="auth-page">
      <div className="auth-card">
        <h1 className="auth-title">Page not found</h1>
        <p className="muted">This page does not exist.</p>
        <Link href="/" className="btn btn-primary btn-md">
          Go to projects
        </Link>
      </div>
    </div>
  );
}
