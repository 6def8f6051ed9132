// A question before a gesture that is hard to take back (cancel a
// rendez-vous, delete an action, leave a territory): a native modal
// `<dialog>`, so the rest of the page is inert and focus stays inside.
// Focus starts on the choice that changes nothing, and Échap is that
// choice too. The screen decides what the answer does.

import { useEffect, useRef } from "preact/hooks";

export function Confirmation({ titre, texte, confirmer, renoncer = "Ne rien changer", danger = false, repondre, testid }: {
  titre: string;
  texte: string;
  /** The button that does it: "Annuler ce rendez-vous", "Supprimer l'action"… */
  confirmer: string;
  renoncer?: string;
  danger?: boolean;
  /** Called once, with true when the person confirmed. */
  repondre: (oui: boolean) => void;
  testid?: string;
}) {
  const dialogue = useRef<HTMLDialogElement>(null);
  const non = useRef<HTMLButtonElement>(null);
  const repondu = useRef(false);
  useEffect(() => {
    const d = dialogue.current;
    if (!d) return;
    if (!d.open) d.showModal();
    non.current?.focus();
    return () => {
      if (d.open) d.close();
    };
  }, []);
  const choisir = (oui: boolean) => {
    if (repondu.current) return;
    repondu.current = true;
    dialogue.current?.close();
    repondre(oui);
  };
  return (
    <dialog
      ref={dialogue}
      class="dialogue"
      aria-labelledby="confirmation-titre"
      aria-describedby="confirmation-texte"
      data-testid={testid ?? "confirmation"}
      onCancel={(event) => {
        event.preventDefault();
        choisir(false);
      }}
    >
      <h2 id="confirmation-titre">{titre}</h2>
      <p id="confirmation-texte">{texte}</p>
      <p class="actions">
        <button type="button" ref={non} class="secondaire" onClick={() => choisir(false)}>
          {renoncer}
        </button>
        <button type="button" class={danger ? "danger" : undefined} onClick={() => choisir(true)}>
          {confirmer}
        </button>
      </p>
    </dialog>
  );
}
