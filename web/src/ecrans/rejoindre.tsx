// Opening an invitation link (`#/territoire/<doc>/invitation/<rôle>/<jeton>`).
// A territory this device holds no invitation for is joined at once; the
// same invitation again changes nothing; another invitation for a
// territory already joined replaces the one held only if the person says
// so, in a modal dialog that states what changes (anyone can craft a link:
// it must not quietly erase an invitation or turn an organiser into a
// resident). Refusing leaves IndexedDB and the connection as they were.
// This screen decides nothing about access: the relay does, from the token.

import { useEffect, useRef, useState } from "preact/hooks";
import type { Comparaison, Driver, Invitation } from "../driver";
import type { Role } from "../storage";

/** What a role lets a person do, said after « Ce lien vous donne le rôle … ». */
const CE_QUE_PERMET: Record<Role, string> = {
  organisateur: "vous pourrez modifier l'agenda",
  habitant: "vous pourrez lire l'agenda, sans le modifier",
};

const DE_ROLE: Record<Role, string> = {
  organisateur: "d'organisateur",
  habitant: "d'habitant",
};

export function Rejoindre({ driver, invitation }: { driver: Driver; invitation: Invitation }) {
  const [question, setQuestion] = useState<Extract<Comparaison, { cas: "differente" }>>();
  const [erreur, setErreur] = useState(false);
  const { doc, role, token } = invitation;
  const ouvrir = () => location.replace(`#/territoire/${doc}`);

  useEffect(() => {
    let actuel = true;
    setQuestion(undefined);
    driver
      .comparerInvitation({ doc, role, token })
      .then(async (comparaison) => {
        if (!actuel) return;
        if (comparaison.cas === "differente") return setQuestion(comparaison);
        if (comparaison.cas === "nouvelle") await driver.rejoindre({ doc, role, token });
        ouvrir();
      })
      .catch((error) => {
        console.error("Essaim : invitation illisible", error);
        driver.connect(); // With the invitations held as they were.
        if (actuel) setErreur(true);
      });
    return () => {
      actuel = false;
    };
  }, [driver, doc, role, token]);

  if (erreur) {
    return (
      <p role="alert" class="erreur">
        Cet appareil n'a pas pu lire ses invitations&nbsp;: rien n'a été changé. Rouvrez le lien plus tard.
      </p>
    );
  }
  if (!question) return <p>Connexion au territoire…</p>;
  const choisir = async (remplacer: boolean) => {
    if (remplacer) await driver.rejoindre({ doc, role, token });
    ouvrir();
  };
  return (
    <>
      <p>Lien d'invitation à un territoire que cet appareil a déjà rejoint.</p>
      <RemplacerInvitation lien={role} tenue={question.role} nom={question.nom} choisir={choisir} />
    </>
  );
}

/**
 * The question, in a native modal `<dialog>`: the rest of the page is
 * inert, focus starts on « Garder » (the choice that changes nothing) and
 * stays in the dialog, and Échap keeps the invitation held.
 */
function RemplacerInvitation({ lien, tenue, nom, choisir }: {
  lien: Role;
  tenue?: Role;
  nom: string;
  choisir: (remplacer: boolean) => void;
}) {
  const dialogue = useRef<HTMLDialogElement>(null);
  const garder = useRef<HTMLButtonElement>(null);
  const [choisi, setChoisi] = useState(false);
  useEffect(() => {
    const d = dialogue.current;
    if (!d) return;
    if (!d.open) d.showModal();
    garder.current?.focus();
    return () => {
      if (d.open) d.close();
    };
  }, []);
  const repondre = (remplacer: boolean) => {
    if (choisi) return;
    setChoisi(true);
    dialogue.current?.close();
    choisir(remplacer);
  };
  const territoire = nom ? `«\u00a0${nom}\u00a0»` : "ce territoire";
  let changement: string;
  if (tenue === lien) {
    changement = `Ce lien est une autre invitation ${DE_ROLE[lien]} pour ${territoire}. Votre rôle ne change pas, mais l'invitation que cet appareil utilise aujourd'hui serait oubliée.`;
  } else if (tenue) {
    changement = `Ce lien vous donne le rôle ${lien} sur ${territoire}\u00a0: ${CE_QUE_PERMET[lien]}. Vous y êtes aujourd'hui ${tenue}.`;
  } else {
    changement = `Ce lien vous donne le rôle ${lien} sur ${territoire}\u00a0: ${CE_QUE_PERMET[lien]}. Cet appareil détient déjà une autre invitation pour ce territoire, qui serait oubliée.`;
  }
  return (
    <dialog
      ref={dialogue}
      class="dialogue"
      aria-labelledby="remplacer-titre"
      aria-describedby="remplacer-texte"
      data-testid="remplacer-invitation"
      onCancel={(event) => {
        event.preventDefault();
        repondre(false);
      }}
    >
      <h2 id="remplacer-titre">Remplacer votre invitation&nbsp;?</h2>
      <div id="remplacer-texte">
        <p>{changement}</p>
        <p>Si vous ne savez pas d'où vient ce lien, gardez votre invitation actuelle.</p>
      </div>
      <p class="actions">
        <button type="button" ref={garder} onClick={() => repondre(false)}>
          Garder mon invitation actuelle
        </button>
        <button type="button" class="secondaire" onClick={() => repondre(true)}>
          Remplacer par ce lien
        </button>
      </p>
    </dialog>
  );
}
