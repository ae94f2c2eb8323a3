'use client';
import { useEffect, useState } from 'react';
import { cachedItemImage, loadItemImage } from '@/lib/image-cache';
import { Spinner } from './ui/spinner';

/** An item's image, loaded with the token; shows at once when it was prefetched. */
export function ItemImage({ projectId, itemId, alt, className }: { projectId: number; itemId: number; alt: string; className?: string }) {
  const [loaded, setLoaded] = useState<{ id: number; url?: string; failed?: boolean } | null>(null);
  const url = cachedItemImage(projectId, itemId) ?? (loaded?.id === itemId ? loaded.url : undefined);
  const failed = loaded?.id === itemId && loaded.failed;
  useEffect(() => {
    if (cachedItemImage(projectId, itemId)) return;
    let live = true;
    loadItemImage(projectId, itemId).then(
      (found) => live && setLoaded({ id: itemId, url: found }),
      () => live && setLoaded({ id: itemId, failed: true }),
    );
    return () => {
      live = false;
    };
  }, [projectId, itemId]);
  if (failed) return <div className={`media-missing ${className ?? ''}`}>Image could not be loaded</div>;
  if (!url)
    return (
      <div className={`media-loading ${className ?? ''}`}>
        <Spinner />
      </div>
    );
  return <img key={itemId} src={url} alt={alt} className={className} draggable={false} />;
}

export function ItemText({ text, className }: { text: string | null | undefined; className?: string }) {
  return <div className={`item-text ${className ?? ''}`}>{text ?? <span className="muted">(no text)</span>}</div>;
}
