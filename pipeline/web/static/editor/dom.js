// The one helper every editor module draws with: an element with its properties and children. Text only ever
// goes in as textContent or a child string, never as HTML (view.js).

export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}
