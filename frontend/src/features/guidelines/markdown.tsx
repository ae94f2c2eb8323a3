'use client';
import Markdown, { defaultUrlTransform, type Components } from 'react-markdown';

// Guidelines are written by owners and read by everyone in the project, so what they say is
// shown, never run: raw HTML in the text stays visible as text (never parsed into elements),
// and a link or image whose URL is not http(s), mailto or relative (javascript:, data:,
// vbscript:) loses its URL (react-markdown's defaultUrlTransform).

interface Node {
  type: string;
  value?: string;
  children?: Node[];
}

/** A remark plugin: every raw HTML node becomes a plain text node with the same characters. */
function htmlAsText() {
  const walk = (node: Node) => {
    if (node.type === 'html') node.type = 'text';
    node.children?.forEach(walk);
  };
  return walk;
}

const components: Components = {
  // a link whose URL was refused is plain text; the others open apart from the app
  a: ({ href, children }) =>
    href ? (
      <a href={href} target="_blank" rel="noopener noreferrer">
        {children}
      </a>
    ) : (
      <span>{children}</span>
    ),
};

export function SafeMarkdown({ children, className }: { children: string; className?: string }) {
  return (
    <div className={['markdown', className].filter(Boolean).join(' ')}>
      <Markdown remarkPlugins={[htmlAsText]} urlTransform={defaultUrlTransform} components={components}>
        {children}
      </Markdown>
    </div>
  );
}
