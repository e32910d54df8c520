// The text a browser shows for a piece of HTML: tags dropped (a `<` before no letter is text),
// references decoded.
export function textOf(html: string): string {
  return html
    .replace(/<\/?[A-Za-z][^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
}
